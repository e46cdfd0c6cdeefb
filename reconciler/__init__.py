"""insomnia-sso: Insomnia Enterprise single sign-on with Okta, managed as code.

Reads top-down as the data flows: `spec` → `plan` → `apply` → `stores` → `render` → `cli`.
"""
