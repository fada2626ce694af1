#!/usr/bin/env bash
# Refreshes docs/screenshots (the admin's and the employee's main pages, in
# English and Dutch) from a run of the browser tests, which keep a
# screenshot of each step under target/test-artifacts. Needs what
# scripts/test.sh installs (Chromium, Node.js and
# crates/limen/tests/browser/node_modules); CI=1 makes the tests fail
# rather than skip when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

artifacts=target/test-artifacts
rm -rf "$artifacts"/admin-sign-in-* "$artifacts"/admin-people-* "$artifacts"/admin-entrances-* "$artifacts"/webcam-*
CI=1 cargo test -p limen --test service --locked -- \
    admin_pages::an_admin_signs_in_and_invites_in_chromium_in_english_and_dutch \
    admin_people::people_are_imported_and_invited_in_chromium_in_both_languages \
    admin_entrances::an_admin_adds_an_entrance_and_a_camera_in_chromium_in_english_and_dutch \
    browser::webcam_enrolment_in_headless_chromium
mkdir -p docs/screenshots
for language in en nl; do
    for page in login organisation; do
        cp "$artifacts/admin-sign-in-$language/admin-$page.png" "docs/screenshots/admin-$page.$language.png"
    done
    for page in people import-problem import-fine erase; do
        cp "$artifacts/admin-people-$language/$page.png" "docs/screenshots/admin-people-$page.$language.png"
    done
    for page in entrances-token entrances events audit; do
        cp "$artifacts/admin-entrances-$language/admin-$page.png" "docs/screenshots/admin-$page.$language.png"
    done
    for step in 1-register:register 2-consent:consent 5-enrolled:enrolled 6-account:account 10-withdraw:withdraw; do
        cp "$artifacts/webcam-$language/${step%%:*}.png" "docs/screenshots/employee-${step##*:}.$language.png"
    done
done
ls -l docs/screenshots
