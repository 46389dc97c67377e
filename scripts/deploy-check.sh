#!/usr/bin/env bash
# Runs the README's deployment as written: every ```sh block of its "### Deploy" section, in
# order, in one bash (`set -euo pipefail`), so that the README cannot drift from what works.
# tests/test_deploy.py runs it against the PostgreSQL service, twice (production and staging
# on one server).
#
# The blocks use what the README asks an operator to set first; set the same here:
#   PG_SUPERUSER_URL DB_HOST DB OWNER LOGIN OWNER_PASSWORD LOGIN_PASSWORD SECRET_KEY
# and PORT if 8000 is taken. `flask` and `gunicorn` must be on the PATH (the venv's bin), and
# the working directory the checkout (wsgi.py). The create-user step prompts for the first
# owner's password: give it twice on standard input.
#
# A block whose command is gunicorn serves until the last block has run: it is started in the
# background, the next block runs once the port answers, and it is stopped (SIGTERM) at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
readme="$here/README.md"
for name in PG_SUPERUSER_URL DB_HOST DB OWNER LOGIN OWNER_PASSWORD LOGIN_PASSWORD SECRET_KEY; do
    if [ -z "${!name:-}" ]; then
        echo "deploy-check: set $name first (see README, Operations, Deploy)." >&2
        exit 2
    fi
done
export PG_SUPERUSER_URL DB_HOST DB OWNER LOGIN OWNER_PASSWORD LOGIN_PASSWORD SECRET_KEY

script="$(mktemp)"
trap 'rm -f "$script"' EXIT
# The ```sh blocks between "### Deploy" and the next heading, numbered from 1.
awk -v out="$script" '
    !in_block && /^#+ / { in_deploy = ($0 == "### Deploy") }
    # A block inside a numbered step is indented: its lines lose the indentation of the fence.
    in_deploy && /^ *```sh$/ {
        block++; in_block = 1; text = ""; indent = index($0, "`") - 1; next
    }
    in_block && /^ *```$/ {
        in_block = 0
        print "echo \"== README deploy block " block " ==\"" >> out
        if (text ~ /(^|\n)[^#\n]*gunicorn /) {
            # Its own process group (job control on), so that stopping it stops gunicorn too.
            print "set -m\n(\n" text ") </dev/null &" >> out
            print "served=$!\nset +m" >> out
            print "for _ in $(seq 1 120); do curl -fsS -o /dev/null \"http://127.0.0.1:${PORT:-8000}/login\" && break; sleep 0.5; done" >> out
        } else {
            print text >> out
        }
        next
    }
    in_block { text = text substr($0, indent + 1) "\n" }
' "$readme"
if ! grep -q "README deploy block" "$script"; then
    echo "deploy-check: no \`\`\`sh blocks under ### Deploy in README.md." >&2
    exit 2
fi

served=""
stop_server() {
    if [ -n "$served" ]; then
        kill -TERM -- "-$served" 2>/dev/null || true
        wait "$served" 2>/dev/null || true
    fi
}
trap 'stop_server; rm -f "$script"' EXIT
cd "$here"
# shellcheck disable=SC1090  # the README's own blocks
source "$script"
echo "== README deploy steps ran =="
