#!/usr/bin/env bash
# Refreshes the screenshots of the admin's entrances, events and audit
# pages in docs/screenshots (English and Dutch) from a run of their browser
# test, which keeps one of each page under target/test-artifacts. Needs
# what scripts/test.sh installs (Chromium, Node.js and
# crates/limen/tests/browser/node_modules); CI=1 makes the test fail rather
# than skip when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

artifacts=target/test-artifacts
rm -rf "$artifacts/admin-entrances-en" "$artifacts/admin-entrances-nl"
CI=1 cargo test -p limen --test service --locked -- \
    --exact admin_entrances::an_admin_adds_an_entrance_and_a_camera_in_chromium_in_english_and_dutch
mkdir -p docs/screenshots
for language in en nl; do
    for page in entrances-token entrances events audit; do
        cp "$artifacts/admin-entrances-$language/admin-$page.png" \
            "docs/screenshots/admin-$page.$language.png"
    done
done
ls -l docs/screenshots/admin-entrances* docs/screenshots/admin-events* docs/screenshots/admin-audit*
