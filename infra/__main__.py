"""What `pulumi preview` / `pulumi up` run (Pulumi.yaml: `main: infra/`).

Nothing is declared at import time anywhere in `infra/`: the program is `infra.program.run()`,
which tests and `insomnia-sso okta-preview` call after setting Pulumi mocks.
"""

from infra.program import run

run()
