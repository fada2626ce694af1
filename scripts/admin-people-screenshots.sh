#!/usr/bin/env bash
# Refreshes the screenshots of the admin's people pages in docs/screenshots
# (English and Dutch) from a run of their browser test, which keeps one of
# each page under target/test-artifacts. Needs what scripts/test.sh
# installs (Chromium, Node.js and crates/limen/tests/browser/node_modules);
# CI=1 makes the test fail rather than skip when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

artifacts=target/test-artifacts
rm -rf "$artifacts/admin-people-en" "$artifacts/admin-people-nl"
CI=1 cargo test -p limen --test service --locked -- \
    --exact admin_people::people_are_imported_and_invited_in_chromium_in_both_languages
for language in en nl; do
    for page in people import-problem import-fine erase; do
        cp "$artifacts/admin-people-$language/$page.png" \
            "docs/screenshots/admin-people-$page.$language.png"
    done
done
ls -l docs/screenshots/admin-people-*
