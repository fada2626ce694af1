# Every text Limen shows or sends to people, in English. Each message here
# exists in every other catalogue too (a test compares them).

## Pages in general

site-name = Limen
error-title = Something is not right
not-found-title = Not found
csrf-refused-title = Form expired
csrf-refused = This form did not carry a valid security token (CSRF), so nothing was changed. Go back, reload the page and try again.
cross-site-title = Not sent from this site
cross-site = This form was sent from another web site, so it was ignored. Open Limen's own page and try again.

## The privacy statement

privacy-title = Privacy statement
statement-version = Statement version (SHA-256):

## Registration and login

register-title = Register
register-account = Your account name is { $email }.
register-read-statement = Before you go on, read what happens to your data
register-password = Choose a password (at least { $min } characters; a short sentence works well)
register-password-again = The same password again
register-submit = Register
passwords-differ = The two passwords are not the same.
admin-register-title = Become an admin of { $organisation }
admin-register-account = Your account name is { $email }. Choose the password you will sign in with.
admin-register-no-faces = As an admin you manage people, entrances and cameras; you never see anyone's face or facial data.
admin-registered-title = Your password is set
admin-registered = You are an admin of { $organisation }. Sign in on the admin pages: /admin/login.
admin-login-title = Sign in as an admin
admin-login-for = For an organisation's admins. Employees sign in on the employee login page.
admin-nav-label = Administration
admin-nav-organisation = Organisation
admin-nav-people = People
admin-nav-entrances = Entrances
admin-nav-events = Events
admin-nav-audit = Audit trail
admin-home-admins = Admins
admin-home-admin-name = Name
admin-home-admin-email = E-mail address
admin-home-admin-status = Status
admin-home-you = (you)
admin-home-registered = active
admin-home-invited = invited, no password yet
admin-home-invite = Invite another admin
admin-home-invite-submit = Send the invitation
admin-login-code = Code from your authenticator app
admin-login-code-hint = Only if you set up two-step sign-in; leave it empty otherwise.
admin-two-step-heading = Two-step sign-in
admin-two-step-on = You sign in with your password and a code from your authenticator app.
admin-two-step-off = Besides your password, ask for a code from an authenticator app on your phone when you sign in, so that a stolen password alone does not let anyone in.
admin-two-step-begin = Set up two-step sign-in
admin-two-step-turn-off = Turn two-step sign-in off
admin-two-step-title = Set up two-step sign-in
admin-two-step-add = Add an account to your authenticator app (any app for time-based codes): type in the key below, or open the link on the phone that holds the app. Then enter the code the app shows to confirm.
admin-two-step-secret = Key
admin-two-step-link = On your phone
admin-two-step-open-app = Add to the authenticator app
admin-two-step-code = Code from the app
admin-two-step-confirm = Confirm and turn on
link-not-valid-title = Link not valid
login-title = Log in
login-email = E-mail address
login-password = Password
login-submit = Log in
login-forgot = Forgot your password?
forgot-title = Choose a new password
forgot-explained = Give the e-mail address of your account. If there is an account with it, a link to choose a new password is sent there; it works once, for an hour.
forgot-submit = Send the link
forgot-sent-title = Check your e-mail
forgot-sent = If there is an account with this address, a link to choose a new password is on its way. It works once, for an hour. Nothing arrived? Check the address and your spam folder, or ask again in a while.
reset-title = Choose a new password
reset-done-title = Password changed
error-reset-unknown = This link to choose a new password is not valid: it may have been used already or replaced by a newer one. Ask for a new one on the login page.
error-reset-expired = This link to choose a new password has expired. Ask for a new one on the login page.
mail-reset-subject = Choose a new password for Limen
mail-reset-why = Someone, probably you, asked to choose a new password for your Limen account. Use this link to do so:
mail-reset-link = Choose a new password
mail-reset-expiry = The link works once and expires in { $minutes } minutes.
mail-reset-not-you = If you did not ask for it, ignore this message: your password stays as it is.
logout = Log out

## The account page

account-title = Your account
account-consent-heading = Consent
account-consented = On { $date } you consented to the privacy statement in { $language }, version
account-statement-changed = The privacy statement has changed since you consented. Read it and consent again before { $until }, or your consent lapses and your facial vector is deleted.
account-read-new-statement = Read the new statement
account-withdraw = Withdraw consent (deletes your facial vector)
account-no-consent = You have not given consent. Without it, no facial vector is made or kept.
account-read-and-decide = Read the statement and decide
account-face-heading = Your face
account-face-stored = A facial vector is stored (model { $model }).
account-face-renewal = It was made by an older model: please renew it.
account-renew = Renew it
account-remove-face = Remove my facial vector
account-no-face-yet = No facial vector is stored yet.
account-enrol = Enrol your face
account-no-face = No facial vector is stored.
account-data-heading = Your data
account-export = Download everything Limen holds about you (JSON)
account-privacy = Privacy statement
account-language-heading = Language
language-english = English
language-dutch = Dutch
language-name = English
account-heading = Account
account-change-password = Change password
account-cancel = Cancel my registration

## Consent

consent-title = Your consent
consent-agree = I have read this statement and I consent to Limen making and keeping a facial vector of me for entering the premises, as described above.
consent-submit = Give consent
consent-not-now = Not now
consent-box-unticked = Consent is only given by ticking the box. Nothing was recorded.
consent-first-title = Consent first
consent-first = Your face is only enrolled after you have consented. Go to your account to read the statement and decide.

## Password and cancellation

password-title = Change password
password-current = Current password
password-new = New password (at least { $min } characters)
password-new-again = New password again
password-submit = Change password
passwords-new-differ = The two new passwords are not the same.
password-changed-title = Password changed
password-changed = Your password was changed; your other sessions were ended.
confirm-back = No, back to my account
withdraw-title = Withdraw consent
withdraw-explained = Withdrawing your consent deletes your facial vector at once, and the entrances no longer recognise you. Your account stays: you can consent and enrol again later.
withdraw-submit = Withdraw consent and delete my facial vector
remove-face-title = Remove your facial vector
remove-face-explained = Your facial vector is deleted at once, and the entrances no longer recognise you. Your consent stays: you can enrol again whenever you like.
remove-face-submit = Remove my facial vector
cancel-title = Cancel registration
cancel-explained = Cancelling deletes your account, your consent and your facial vector. A dated note that you cancelled (nothing biometric) is kept as proof. You can be invited again later.
cancel-submit = Cancel my registration
cancelled-title = Registration cancelled
cancelled = Your account, consent and facial vector have been deleted.

## Enrolment with the webcam (the page and its script)

enrol-title = Enrol your face
enrol-explained = Look straight at the camera, in good light, with nobody else in view. A few pictures are taken when the guidance says they are good; they are turned into a facial vector and erased at once.
enrol-starting = Starting the camera…
enrol-start = Start
enrol-back = Back to your account
enrol-stop = Stop
enrol-stopped = Stopped. Press Start to try again.
enrol-network = The connection to Limen was lost; trying again…
enrol-expired = Your session has ended: log in again to enrol.
enrol-timed-out = No good pictures in two minutes, so the camera was stopped. Check the light and press Start to try again.
enrol-without-script = Without JavaScript, take or choose up to { $max } pictures of your face yourself: straight at the camera, in good light, with nobody else in view.
enrol-pictures = Pictures of your face (at most { $max })
enrol-upload = Send the pictures
error-frame-bytes = A picture may be at most { $max } MiB.
error-frame-type = Send pictures as JPEG or PNG.
enrol-press-start = Press Start when you are ready.
enrol-look-straight = Look straight at the camera
enrol-turn-one-side = Turn your head a little to one side
enrol-turn-other-side = Now a little to the other side
enrol-good = Good ({ $count } of { $total })
enrol-making = Making your facial vector…
enrol-done = Done: your face is enrolled (model { $model }).
enrol-retrying = Trying again…
enrol-camera-failed = The camera could not be opened: { $reason }
enrol-check-failed = That picture could not be checked.
enrol-failed = The enrolment failed.
enrol-bad-answer = Unexpected answer from the server.
enrol-hold-still = Good: hold still

## Advice on one picture from the camera

advice-no-face = no face found: look straight at the camera
advice-several-faces = one face only: make sure nobody else is in the picture
advice-too-small = face too small: move closer
advice-blurred = image blurred: hold still
advice-too-dark = too dark: add light in front of you
advice-too-bright = too bright: avoid direct light
advice-low-contrast = low contrast: face the light
advice-turned-away = head turned: look straight at the camera
advice-tilted = head tilted: hold your head upright
advice-weak-detection = face not clearly visible
advice-not-live = this looks like a photo or a screen held up to the camera: enrol with your own face in front of the camera, in even light
advice-disagrees = this picture does not show the same face as the others
advice-undecodable = the picture could not be read

## Errors people may see

error-internal = Something went wrong on our side; it has been logged. Please try again later.
error-request = This request could not be handled (error { $status }); reload the page and try again.
error-not-found = There is nothing here.
error-no-organisation = There is no such organisation.
error-no-consent = Consent is required before enrolment: read the privacy statement and give your consent first.
error-statement-outdated = The privacy statement has changed in the meantime. Read it again and consent to the current version.
error-frame-count = Send between 1 and { $max } pictures.
error-no-usable-frame = No picture could be used: { $advice }
error-frames-disagree = The pictures do not show the same face; please try again.
error-frame-too-large = The picture is { $width }×{ $height } pixels, larger than any camera Limen serves.
error-busy = The face engine is busy; try again in a moment.
error-galleries = Limen cannot check its records right now; try again in a moment.
error-invitation-unknown = This registration link is not valid: it may have been used already or replaced by a newer one.
error-invitation-expired = This registration link has expired; ask your organisation to send a new invitation.
error-already-registered = You are already registered: log in instead.
error-password-too-short = The password must be at least { $min } characters long (a short sentence works well).
error-password-too-long = The password must be at most { $max } characters long.
error-password-common = This password is too common or too easy to guess; please choose another.
error-password-contextual = The password must not be built from your e-mail address, your organisation's name or the service's name.
error-wrong-credentials = Wrong e-mail address or password.
error-wrong-password = The current password is not correct.
error-code-required = Enter the code from your authenticator app as well.
error-wrong-code = This is not the current code from your authenticator app (or it was used already); wait for the next one and try again.
error-two-step-state = Two-step sign-in is not in the state this step needs; go back to the organisation's page and start again.
error-too-many-logins = Too many failed login attempts; wait a little and try again.
error-too-many-enrolments = Too many attempts in a short time; wait a minute and try again.
error-model-changed = The recognition model changed while your face was being read: please enrol again.
error-model-unavailable = Face recognition is not available on this server at the moment.
error-csrf-header = This page has expired: reload it and try again.
invalid-email = This is not a valid e-mail address.
invalid-acs-id = An access-system id is 1 to 64 visible characters without spaces.
invalid-name = A name is 1 to 100 characters, without control characters.
invalid-id = This identifier is not valid.
invalid-vector = A vector is a non-empty list of finite numbers.
invalid-pass-id = A pass id is 1 to 64 letters, digits, '-', '_' or '.'.
invalid-liveness-mode = A liveness mode is off, monitor or enforce.

## E-mails

mail-hello = Hello { $name },
mail-days = { $days ->
    [one] one day
   *[other] { $days } days
}
mail-invitation-subject = { $organisation } invites you to face access with Limen
mail-invitation-intro = { $organisation } invites you to pass its entrances by face, with Limen. Taking part is your choice.
mail-invitation-statement = What happens to your data, and your rights
mail-invitation-register = Register
mail-invitation-expiry = This link works once and expires in { $days }.
mail-invitation-decline = If you do not want to take part, ignore this message.
mail-admin-invitation-subject = Administer { $organisation }'s face access with Limen
mail-admin-invitation-intro = You are invited to administer { $organisation }'s face access with Limen: its people, entrances and cameras. You will never see anyone's face or facial data.
mail-admin-invitation-register = Choose your password
mail-admin-invitation-decline = If you did not expect this, ignore this message.
mail-reconsent-subject = { $organisation }: the privacy statement for face access has changed
mail-reconsent-changed = The privacy statement under which you consented to face access at { $organisation } has changed. Please read the new statement.
mail-reconsent-statement = The new privacy statement
mail-reconsent-agree = If you agree, sign in and give your consent again.
mail-sign-in = Sign in
mail-reconsent-until = Your current consent and facial vector stay valid until { $until }. If you have not consented again by then, your consent lapses and your facial vector is deleted, as if you had withdrawn it. If you do not agree, you can withdraw your consent at any time on your account page.
mail-renewal-subject = Please renew your face for the entrances
mail-renewal-reminder-subject = Reminder: please renew your face for the entrances
mail-renewal-why = Limen, which opens your organisation's entrances for you, now recognises faces with a better model. Your facial vector was made by the previous one, so please renew it: sign in and enrol again with your webcam, which takes a minute and replaces your old vector.
mail-renewal-until = Your current vector keeps opening the door until { $until }. After that it is deleted and the entrances no longer recognise you until you enrol again. Your consent stays as it is; you can still withdraw it at any time.

## admin: people

admin-people-title = People
admin-people-import-heading = Import people
admin-people-import-help = A CSV file as your spreadsheet saves it (comma or semicolon), with a first row naming the columns: first name, last name, e-mail and card number (acs_id), in English or Dutch; other columns are ignored. Every row is checked and shown before anything is saved. People already here are recognised by e-mail address and updated.
admin-people-import-file = CSV file
admin-people-import-check = Check the file
admin-people-list-heading = Everyone in your organisation
admin-people-search = Name or e-mail address
admin-people-search-button = Search
admin-people-matching = { $count ->
    [one] One person.
   *[other] { $count } people.
}
admin-people-range = Showing { $from } to { $to }.
admin-people-list-caption = People, with where each stands between import and enrolment. Faces are never shown.
admin-people-select = Select
admin-people-select-person = Select { $name }
admin-people-column-name = Name
admin-people-column-first-name = First name
admin-people-column-last-name = Last name
admin-people-column-email = E-mail address
admin-people-column-acs-id = Card number (acs_id)
admin-people-column-status = Status
admin-people-column-actions = Actions
admin-people-column-row = Row
admin-people-column-problems = Problems
admin-people-column-line = The row
admin-people-status-imported = imported
admin-people-status-invited = invited
admin-people-status-registered = registered
admin-people-status-consented = consented
admin-people-status-enrolled = enrolled
admin-people-status-renewal-needed = renewal needed
admin-people-resend = Resend invitation
admin-people-resend-person = Resend invitation to { $name }
admin-people-erase = Erase
admin-people-erase-person = Erase { $name }
admin-people-invite-selected = Invite the people selected
admin-people-invite-all = Invite everyone not yet invited
admin-people-pages = Pages of people
admin-people-previous = Previous page
admin-people-next = Next page
admin-people-done-imported = { $count ->
    [one] One person imported.
   *[other] { $count } people imported.
}
admin-people-done-erased = The person has been erased.
admin-people-done-invited = { $count ->
    [0] No invitation sent: nobody was selected who still needs one.
    [one] One invitation sent.
   *[other] { $count } invitations sent.
}
admin-people-done-invited-some = { $count ->
    [one] One invitation sent
   *[other] { $count } invitations sent
}; { $failed ->
    [one] one could not be sent (already registered, or the mail server refused it). Try again later.
   *[other] { $failed } could not be sent (already registered, or the mail server refused them). Try again later.
}
admin-people-not-sent = The invitation could not be sent: the mail server did not accept it. Nothing has changed; try again later.
admin-people-erase-title = Erase { $name }?
admin-people-erase-explanation = Everything Limen holds about { $name } ({ $email }) is deleted: the account, the consent and the facial vectors, and they leave every entrance's gallery at once. Passages stay counted but no longer name them. This cannot be undone.
admin-people-erase-confirm = Erase everything about this person
admin-people-erase-keep = Keep this person and go back
admin-people-import-title = Check the import
admin-people-preview-fine = { $count ->
    [one] The one row is fine. Nothing has been saved yet.
   *[other] All { $count } rows are fine. Nothing has been saved yet.
}
admin-people-preview-problems = { $count ->
    [one] One row of { $total } cannot be imported, so nothing has been saved. Correct it in your spreadsheet and choose the file again.
   *[other] { $count } rows of { $total } cannot be imported, so nothing has been saved. Correct them in your spreadsheet and choose the file again.
}
admin-people-import-confirm = { $count ->
    [one] Import one person
   *[other] Import { $count } people
}
admin-people-import-cancel = Cancel
admin-people-import-again = Choose the corrected file
admin-people-back = Back to the people
admin-people-preview-caption = The rows of the file, numbered as your spreadsheet numbers them.
admin-people-row-fine = fine
admin-people-preview-hidden = { $count ->
    [one] One more row is fine and not shown.
   *[other] { $count } more rows are fine and not shown.
}
admin-people-problem = { $column }: { $problem }
admin-people-problem-email = not a valid e-mail address
admin-people-problem-acs-id = must be 1 to 64 visible characters, without spaces
admin-people-problem-name = must be 1 to 100 characters
admin-people-problem-duplicate = the same as in row { $row }
admin-people-problem-acs-id-taken = already belongs to someone else in your organisation
admin-people-problem-field-count = has { $found } fields where the first row names { $expected }, so its values may be in the wrong columns
admin-people-problem-stray-quote = has a quotation mark inside a field, so its fields may be split wrongly; save the file from your spreadsheet again
admin-people-file-empty = The file holds no people: it needs a first row naming the columns, then one row per person.
admin-people-file-missing-columns = The first row of the file must name the columns; none of them is read as: { $columns }. Name them, for example, first_name, last_name, email and acs_id, or voornaam, achternaam, e-mail and pasnummer.
admin-people-file-repeated-column = Two columns, “{ $first }” and “{ $second }”, mean the same; keep one of them.
admin-people-file-unclosed-quote = A quotation mark opened in row { $row } is never closed, so the file cannot be read; save it from your spreadsheet again.

## admin: entrances
admin-entrances-title = Entrances and cameras
admin-entrances-none = No entrances yet.
admin-entrances-connector-osdp = Connector: OSDP (the camera agent is the access panel's reader)
admin-entrances-connector-http = Connector: HTTP, to { $url }
admin-entrances-name = Name
admin-entrances-rename = Rename
admin-entrances-test = Send a test
admin-entrances-test-accepted = { $entrance }: the access system accepted the test (HTTP { $status }).
admin-entrances-test-refused = { $entrance }: the access system answered the test with HTTP { $status }. Check the secret it was given, and that it answers the event connection.test.
admin-entrances-test-no-answer = { $entrance }: the access system did not answer. The server's log says why.
admin-entrances-cameras = Cameras at { $entrance }
admin-entrances-camera = Camera
admin-entrances-added = Added
admin-entrances-last-seen = Last seen
admin-entrances-never = never
admin-entrances-frames = Frames in the last hour
admin-entrances-status = Status
admin-entrances-up = Up
admin-entrances-down = Down
admin-entrances-revoke = Revoke
admin-entrances-no-cameras = No cameras yet.
admin-entrances-add-camera = Add a camera
admin-entrances-token-title = The new camera's token
admin-entrances-token-intro = Give this token to the camera agent at { $entrance } (as LIMEN_DEVICE_TOKEN):
admin-entrances-token-once = It is shown only now: Limen keeps only a hash of it. If it is lost, revoke the camera and add it again.
admin-entrances-delete = Delete this entrance
admin-entrances-delete-confirm = Yes, delete it: its cameras stop working and its decisions are deleted
admin-entrances-confirm-needed = Tick the box to confirm the deletion.
admin-entrances-add = Add an entrance
admin-entrances-connector = Connector
admin-entrances-kind-osdp = OSDP: the camera agent is the access panel's reader
admin-entrances-kind-http = HTTP: Limen asks the access system
admin-entrances-url = Access system URL (HTTP only)
admin-entrances-secret = Shared secret (HTTP only, whsec_…)
admin-entrances-create = Add entrance
admin-entrances-name-invalid = An entrance's name is 1 to 100 characters, without control characters.
admin-entrances-url-invalid = Limen cannot use this access system URL: it must start with http:// or https://, hold no user name or password, and name a host the operator allows.
admin-entrances-secret-invalid = The shared secret is whsec_ followed by the base64 of 24 to 64 random bytes.
admin-entrances-times = Times are in the { $zone } time zone.

## admin: events
admin-events-title = Decisions at the entrances
admin-events-filter = Show decisions
admin-events-entrance = Entrance
admin-events-outcome = Outcome
admin-events-all = All
admin-events-from = From (date)
admin-events-until = Until (date, included)
admin-events-show = Show
admin-events-none = No decisions match.
admin-events-caption = Newest first. Times are in the { $zone } time zone.
admin-events-time = Time
admin-events-person = Person
admin-events-detail = Detail
admin-events-truncated = Only the newest 500 are shown: narrow the filter to see older ones.
admin-events-date-invalid = Write a date as 2026-11-30.
admin-events-no-face = No face
admin-events-poor-quality = Poor picture
admin-events-unknown = Not recognised
admin-events-matched = Recognised
admin-events-granted = Granted
admin-events-denied = Denied
admin-events-spoof-suspected = Photo or screen suspected

## admin: audit
admin-audit-title = Audit trail
admin-audit-intact = The audit trail is intact: all { $count } entries check out, and none was removed from its end.
admin-audit-broken = The audit trail does not check out from entry { $seq } on: it may have been altered. Tell the operator of this Limen server, who can check it with limen admin audit verify.
admin-audit-none = No entries yet.
admin-audit-caption = Every change in your organisation, newest first. Times are in the { $zone } time zone.
admin-audit-seq = No.
admin-audit-at = Time
admin-audit-actor = By
admin-audit-action = Action
admin-audit-subject = Subject
admin-audit-detail = Detail

## admin: organisation
admin-organisation-security = Security level
admin-organisation-level = How strict recognition is
admin-organisation-level-option = { $level }: at most 1 stranger in { $one_in } taken for somebody
admin-organisation-level-standard = Standard
admin-organisation-level-high = High
admin-organisation-level-very-high = Very high
admin-organisation-save = Save
admin-organisation-time-zone = Time zone
admin-organisation-time-zone-label = The times on these pages are shown in
admin-organisation-time-zone-unknown = This is not a time zone Limen knows; choose one from the list.
admin-organisation-model = Face model
admin-organisation-no-renewal = Faces are recognised with model { $model }. No renewal is under way.
admin-organisation-renewal = Faces are now recognised with model { $model }; model { $retiring } is still accepted until { $until }. Renewed: { $renewed }. Still to renew: { $pending }. Expired without renewing: { $expired }.
admin-organisation-language = Default language
admin-organisation-language-label = For people who chose no language
admin-organisation-language-en = English
admin-organisation-language-nl = Dutch (Nederlands)

## admin: audit words (what the audit trail and the decision events record)
admin-audit-action-organisation-created = Organisation created
admin-audit-action-organisation-renamed = Organisation renamed
admin-audit-action-organisation-deleted = Organisation deleted, with its data and its data key
admin-audit-action-admin-token-replaced = Admin token replaced; the earlier one no longer works
admin-audit-action-admin-invited = Admin invited
admin-audit-action-admin-registered = Admin account set up
admin-audit-action-admin-login-failed = Admin sign-in failed
admin-audit-action-admin-removed = Admin removed
admin-audit-action-admin-two-step-on = Two-step sign-in turned on
admin-audit-action-admin-two-step-off = Two-step sign-in turned off
admin-audit-action-admin-password-reset-requested = Admin asked for a new password
admin-audit-action-admin-password-reset = Admin password reset; every session of the admin ended
admin-audit-action-api-key-created = API key created
admin-audit-action-api-key-revoked = API key revoked
admin-audit-action-security-level-changed = Security level changed
admin-audit-action-language-changed = Default language changed
admin-audit-action-time-zone-changed = Time zone changed
admin-audit-action-entrance-created = Entrance added
admin-audit-action-entrance-renamed = Entrance renamed
admin-audit-action-entrance-deleted = Entrance deleted, with its cameras and its decisions
admin-audit-action-entrance-liveness-changed = Liveness check changed
admin-audit-action-entrance-connector-changed = Connector changed
admin-audit-action-device-registered = Camera added
admin-audit-action-device-revoked = Camera revoked
admin-audit-action-people-imported = People imported
admin-audit-action-invitation-sent = Invitation sent
admin-audit-action-person-erased = Person erased, with everything held on them
admin-audit-action-account-registered = Account set up
admin-audit-action-login-failed = Sign-in failed
admin-audit-action-password-reset-requested = New password asked for
admin-audit-action-password-reset = Password reset; every session ended
admin-audit-action-password-change-failed = Password not changed: the current password was wrong
admin-audit-action-password-changed = Password changed; other sessions ended
admin-audit-action-language-chosen = Language chosen
admin-audit-action-consent-given = Consent given
admin-audit-action-consent-withdrawn = Consent withdrawn; face vector deleted
admin-audit-action-consent-renewal-requested = Asked to consent to a new privacy statement
admin-audit-action-consent-lapsed = Consent lapsed; face vector deleted
admin-audit-action-vector-enrolled = Face enrolled
admin-audit-action-vector-deleted = Face vector deleted
admin-audit-action-vector-migrated = Face vector moved to a new model
admin-audit-action-vector-retired = Face vector retired with its model
admin-audit-action-renewal-requested = Asked to renew their face
admin-audit-action-registration-cancelled = Registration cancelled; account, consent and face vector erased
admin-audit-action-data-exported = Own data exported
admin-audit-action-model-activated = Face model put into use
admin-audit-action-master-key-rotated = Master key replaced
admin-audit-action-bench-seeded = Test data written
admin-audit-by-operator = Operator of this server
admin-audit-by-anonymous = Someone not signed in
admin-audit-by-admin = Admin { $id }
admin-audit-by-api-key = API key { $id }
admin-audit-by-employee = Employee { $id }
admin-audit-detail-name = Name: { $name }
admin-audit-detail-admin = Admin { $admin }
admin-audit-detail-now = Now: { $value }
admin-audit-detail-connector = Connector: { $connector }
admin-audit-detail-connector-url = Connector: { $connector }, to { $url }
admin-audit-detail-connector-secret = Connector: HTTP, to { $url }, with a new shared secret
admin-audit-detail-entrance = At entrance { $entrance }
admin-audit-detail-consent = Statement { $statement } in { $language }, given by { $method }
admin-audit-detail-statement = Statement { $statement }
admin-audit-detail-lapsed = Not given again to statement { $statement } within { $days ->
    [one] one day
   *[other] { $days } days
} of its publication
admin-audit-detail-enrolled = Model { $model }, { $vectors ->
    [one] one vector
   *[other] { $vectors } vectors
}
admin-audit-detail-renewal = Model { $model }, { $notice ->
    [0] first request
   *[other] reminder { $notice }
}; the old vector works until { $until }
admin-audit-detail-retired = Model { $model }; consent kept, enrolment needed
admin-audit-detail-migrated = From model { $from } to { $to } without a picture; consent kept
admin-audit-detail-activated = The previous model, for whoever still has its vectors, recognises until { $until }
admin-audit-detail-invitation = Expires { $expires }
admin-audit-detail-imported = People { $first } to { $last } of { $total }: { $created } added, { $updated } updated
admin-audit-detail-rekeyed = { $organisations } organisations re-keyed; { $vector_keys } vector keys, { $connector_secrets } connector secrets and { $admin_secrets } second-step secrets wrapped anew
admin-audit-liveness-off = off
admin-audit-liveness-monitor = watching (recorded, the door unaffected)
admin-audit-liveness-enforce = deciding (a photo or screen is refused)
admin-events-detail-frames = { $frames } frames of one pass
admin-events-detail-live-score = live score { $score }
admin-events-detail-refused = refused by the access system
admin-events-detail-no-answer = the access system did not answer

## admin: password-reset
admin-reset-done = Your password is changed and every earlier session has ended. Sign in with the new password (and, if you set one up, your authenticator app's code).

## admin: entrances-connector
admin-entrances-connector-url = Access system URL
admin-entrances-new-secret = New shared secret (whsec_…)
admin-entrances-new-secret-hint = Leave it empty to keep the current secret. The secret is never shown again.
admin-entrances-change-connector = Save the connector
admin-entrances-osdp-no-settings = An OSDP entrance has no connector settings to change: its camera agent is the access panel's reader.

## admin: people-sending
admin-people-done-queued = { $count } invitations are being sent. Reload the page to see how far it is.
admin-people-sending-heading = Invitations to everyone
admin-people-sending = Sent: { $sent }. Waiting: { $waiting }. Not sent: { $failed }.
admin-people-sending-failed = These could not be sent after a few tries (the mail server did not accept them); invite them again later:
