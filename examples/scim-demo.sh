#!/usr/bin/env bash
# The SCIM half of `make demo`, offline: a real SCIM 2.0 server (scim2-server) on a loopback
# port with a throwaway token stands in for Insomnia's connector. People and teams arrive in
# it through plan → apply → plan; the UI-only steps stay listed until an owner confirms them.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DEMO=${DEMO:-.insomnia-sso/demo}
SSO="$BIN/insomnia-sso"
PORT=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
INSOMNIA_SSO_SCIM_TOKEN=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(24))')
export INSOMNIA_SSO_SCIM_TOKEN INSOMNIA_SSO_SCIM_URL="http://127.0.0.1:$PORT"
OPTS=(--store "sqlite:///$DEMO/scim-state.db" --okta-outputs examples/okta-outputs.example.json)

"$BIN/scim2-server" --port "$PORT" --bearer-token="$INSOMNIA_SSO_SCIM_TOKEN" >"$DEMO/scim2-server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
SERVER_PID=$server "$BIN/python" - <<'PY'
import os, time, httpx
url = os.environ["INSOMNIA_SSO_SCIM_URL"] + "/ServiceProviderConfig"
deadline = time.monotonic() + 30
while True:
    try:
        httpx.get(url, timeout=1)
        break
    except httpx.TransportError:
        try:
            os.kill(int(os.environ["SERVER_PID"]), 0)
        except ProcessLookupError:
            raise SystemExit("scim2-server stopped at start; see its log in the demo folder")
        if time.monotonic() > deadline:
            raise SystemExit("scim2-server did not start within 30 s")
        time.sleep(0.1)
PY

show() {  # what the SCIM server holds now, read with plain HTTP
  "$BIN/python" - <<'PY'
import os, httpx
client = httpx.Client(base_url=os.environ["INSOMNIA_SSO_SCIM_URL"],
                      headers={"Authorization": "Bearer " + os.environ["INSOMNIA_SSO_SCIM_TOKEN"]})
users = client.get("/Users", params={"count": 1000}).json().get("Resources", [])
names = {u["id"]: u["userName"] for u in users}
shown = sorted(users, key=lambda u: u["userName"])[:3]
print(f"  {len(users)} users: " + ", ".join(f"{u.get('displayName', '?')} <{u['userName']}>" for u in shown) + ", …")
for group in sorted(client.get("/Groups").json().get("Resources", []), key=lambda g: g["displayName"]):
    members = sorted(names.get(m["value"], "?") for m in group.get("members", []))
    print(f"  team {group['displayName']:<21} {len(members)} member(s)")
PY
}

echo "== SCIM 1. plan against an empty SCIM server on 127.0.0.1:$PORT (exit 2) =="
"$SSO" plan specs/enterprise.yaml "${OPTS[@]}" | grep -v '^     ' || test "${PIPESTATUS[0]}" -eq 2
echo && echo "== SCIM 2. apply --yes (approved on the command line): people and teams are created =="
"$SSO" apply specs/enterprise.yaml "${OPTS[@]}" --yes | tail -n 2
echo && echo "== SCIM 3. what the server holds now ==" && show
echo && echo "== SCIM 4. an owner links a team in Insomnia's UI, then confirms it ==" \
  && "$SSO" confirm team_link platform-admins specs/enterprise.yaml --store "sqlite:///$DEMO/scim-state.db"
echo && echo "== SCIM 5. plan again: no changes; the other manual steps still wait (exit 2) =="
"$SSO" plan specs/enterprise.yaml "${OPTS[@]}" | grep -v '^     ' || test "${PIPESTATUS[0]}" -eq 2
