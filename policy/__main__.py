"""The `insomnia-sso-oidc-hardening` policy pack: `pulumi preview --policy-pack policy`."""

from pulumi_policy import EnforcementLevel, PolicyPack
from resource_policies import resource_policies

PolicyPack(
    name="insomnia-sso-oidc-hardening",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=resource_policies(),
)
