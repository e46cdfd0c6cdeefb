"""The spec: desired state for one enterprise, loaded from YAML and validated."""

from reconciler.spec.loader import LoadedSpec, load_file, load_specs, load_text, spec_files
from reconciler.spec.models import (
    API_VERSION,
    KIND,
    AuthorizationServer,
    Enterprise,
    EnterpriseSpec,
    Member,
    Metadata,
    OktaSettings,
    Organization,
    Prune,
    Role,
    Sso,
    TeamNames,
    default_team_name,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "AuthorizationServer",
    "Enterprise",
    "EnterpriseSpec",
    "LoadedSpec",
    "Member",
    "Metadata",
    "OktaSettings",
    "Organization",
    "Prune",
    "Role",
    "Sso",
    "TeamNames",
    "default_team_name",
    "load_file",
    "load_specs",
    "load_text",
    "spec_files",
]
