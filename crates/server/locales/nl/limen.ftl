# Elke tekst die Limen aan mensen toont of stuurt, in het Nederlands. Elk
# bericht hier staat ook in elke andere catalogus (een test vergelijkt ze).

## Pagina's in het algemeen

site-name = Limen
error-title = Er klopt iets niet
not-found-title = Niet gevonden
csrf-refused-title = Formulier verlopen
csrf-refused = Dit formulier had geen geldig beveiligingstoken (CSRF), dus er is niets gewijzigd. Ga terug, laad de pagina opnieuw en probeer het nog eens.
cross-site-title = Niet vanaf deze site verstuurd
cross-site = Dit formulier kwam van een andere website en is daarom genegeerd. Open de pagina van Limen zelf en probeer het nog eens.

## De privacyverklaring

privacy-title = Privacyverklaring
statement-version = Versie van de verklaring (SHA-256):

## Registreren en inloggen

register-title = Registreren
register-account = Uw accountnaam is { $email }.
register-read-statement = Lees eerst wat er met uw gegevens gebeurt
register-password = Kies een wachtwoord (minstens { $min } tekens; een korte zin werkt goed)
register-password-again = Hetzelfde wachtwoord nog een keer
register-submit = Registreren
passwords-differ = De twee wachtwoorden zijn niet gelijk.
admin-register-title = Beheerder worden van { $organisation }
admin-register-account = Uw accountnaam is { $email }. Kies het wachtwoord waarmee u zich aanmeldt.
admin-register-no-faces = Als beheerder beheert u mensen, ingangen en camera's; u ziet nooit iemands gezicht of gezichtsgegevens.
admin-registered-title = Uw wachtwoord is ingesteld
admin-registered = U bent beheerder van { $organisation }. Meld u aan op de beheerpagina's: /admin/login.
admin-login-title = Aanmelden als beheerder
admin-login-for = Voor de beheerders van een organisatie. Medewerkers melden zich aan op de aanmeldpagina voor medewerkers.
admin-nav-label = Beheer
admin-nav-organisation = Organisatie
admin-nav-people = Mensen
admin-nav-entrances = Ingangen
admin-nav-events = Gebeurtenissen
admin-nav-audit = Logboek
admin-home-admins = Beheerders
admin-home-admin-name = Naam
admin-home-admin-email = E-mailadres
admin-home-admin-status = Status
admin-home-you = (u)
admin-home-registered = actief
admin-home-invited = uitgenodigd, nog geen wachtwoord
admin-home-invite = Nog een beheerder uitnodigen
admin-home-invite-submit = Uitnodiging versturen
admin-login-code = Code uit uw authenticator-app
admin-login-code-hint = Alleen als u aanmelden in twee stappen hebt ingesteld; laat het anders leeg.
admin-two-step-heading = Aanmelden in twee stappen
admin-two-step-on = U meldt zich aan met uw wachtwoord en een code uit uw authenticator-app.
admin-two-step-off = Vraag bij het aanmelden naast uw wachtwoord ook een code uit een authenticator-app op uw telefoon, zodat een gestolen wachtwoord alleen niemand binnenlaat.
admin-two-step-begin = Aanmelden in twee stappen instellen
admin-two-step-turn-off = Aanmelden in twee stappen uitzetten
admin-two-step-title = Aanmelden in twee stappen instellen
admin-two-step-add = Voeg een account toe aan uw authenticator-app (elke app voor tijdgebonden codes): typ de sleutel hieronder over, of open de link op de telefoon met de app. Vul daarna ter bevestiging de code in die de app toont.
admin-two-step-secret = Sleutel
admin-two-step-link = Op uw telefoon
admin-two-step-open-app = Toevoegen aan de authenticator-app
admin-two-step-code = Code uit de app
admin-two-step-confirm = Bevestigen en aanzetten
link-not-valid-title = Link niet geldig
login-title = Inloggen
login-email = E-mailadres
login-password = Wachtwoord
login-submit = Inloggen
login-forgot = Wachtwoord vergeten?
forgot-title = Een nieuw wachtwoord kiezen
forgot-explained = Geef het e-mailadres van uw account. Bestaat er een account met dat adres, dan wordt er een link naartoe gestuurd waarmee u een nieuw wachtwoord kiest; die werkt één keer, een uur lang.
forgot-submit = Link versturen
forgot-sent-title = Kijk in uw e-mail
forgot-sent = Bestaat er een account met dit adres, dan is er een link onderweg waarmee u een nieuw wachtwoord kiest. Die werkt één keer, een uur lang. Niets ontvangen? Controleer het adres en uw map met ongewenste e-mail, of vraag het later opnieuw.
reset-title = Een nieuw wachtwoord kiezen
reset-done-title = Wachtwoord gewijzigd
error-reset-unknown = Deze link om een nieuw wachtwoord te kiezen is niet geldig: hij is misschien al gebruikt of vervangen door een nieuwere. Vraag een nieuwe aan op de inlogpagina.
error-reset-expired = Deze link om een nieuw wachtwoord te kiezen is verlopen. Vraag een nieuwe aan op de inlogpagina.
mail-reset-subject = Kies een nieuw wachtwoord voor Limen
mail-reset-why = Iemand, waarschijnlijk u, vroeg om een nieuw wachtwoord voor uw account bij Limen. Met deze link kiest u het:
mail-reset-link = Een nieuw wachtwoord kiezen
mail-reset-expiry = De link werkt één keer en verloopt over { $minutes } minuten.
mail-reset-not-you = Hebt u er niet om gevraagd, negeer dan dit bericht: uw wachtwoord blijft zoals het is.
logout = Uitloggen

## De accountpagina

account-title = Uw account
account-consent-heading = Toestemming
account-consented = Op { $date } gaf u toestemming voor de privacyverklaring in het { $language }, versie
account-statement-changed = De privacyverklaring is gewijzigd sinds u toestemming gaf. Lees haar en geef vóór { $until } opnieuw toestemming; anders vervalt uw toestemming en wordt uw gezichtsvector verwijderd.
account-read-new-statement = Lees de nieuwe verklaring
account-withdraw = Toestemming intrekken (verwijdert uw gezichtsvector)
account-no-consent = U hebt geen toestemming gegeven. Zonder toestemming wordt er geen gezichtsvector gemaakt of bewaard.
account-read-and-decide = Lees de verklaring en beslis
account-face-heading = Uw gezicht
account-face-stored = Er is een gezichtsvector opgeslagen (model { $model }).
account-face-renewal = Die is gemaakt door een ouder model: vernieuw hem alstublieft.
account-renew = Vernieuwen
account-remove-face = Mijn gezichtsvector verwijderen
account-no-face-yet = Er is nog geen gezichtsvector opgeslagen.
account-enrol = Uw gezicht vastleggen
account-no-face = Er is geen gezichtsvector opgeslagen.
account-data-heading = Uw gegevens
account-export = Alles downloaden wat Limen over u bewaart (JSON)
account-privacy = Privacyverklaring
account-language-heading = Taal
language-english = Engels
language-dutch = Nederlands
language-name = Nederlands
account-heading = Account
account-change-password = Wachtwoord wijzigen
account-cancel = Mijn registratie opzeggen

## Toestemming

consent-title = Uw toestemming
consent-agree = Ik heb deze verklaring gelezen en geef Limen toestemming om een gezichtsvector van mij te maken en te bewaren om het terrein te betreden, zoals hierboven beschreven.
consent-submit = Toestemming geven
consent-not-now = Nu niet
consent-box-unticked = Toestemming geeft u alleen door het vakje aan te vinken. Er is niets vastgelegd.
consent-first-title = Eerst toestemming
consent-first = Uw gezicht wordt pas vastgelegd nadat u toestemming hebt gegeven. Ga naar uw account om de verklaring te lezen en te beslissen.

## Wachtwoord en opzeggen

password-title = Wachtwoord wijzigen
password-current = Huidig wachtwoord
password-new = Nieuw wachtwoord (minstens { $min } tekens)
password-new-again = Nieuw wachtwoord nog een keer
password-submit = Wachtwoord wijzigen
passwords-new-differ = De twee nieuwe wachtwoorden zijn niet gelijk.
password-changed-title = Wachtwoord gewijzigd
password-changed = Uw wachtwoord is gewijzigd; uw andere sessies zijn beëindigd.
confirm-back = Nee, terug naar mijn account
withdraw-title = Toestemming intrekken
withdraw-explained = Als u uw toestemming intrekt, wordt uw gezichtsvector meteen verwijderd en herkennen de ingangen u niet meer. Uw account blijft bestaan: u kunt later opnieuw toestemming geven en uw gezicht vastleggen.
withdraw-submit = Toestemming intrekken en mijn gezichtsvector verwijderen
remove-face-title = Uw gezichtsvector verwijderen
remove-face-explained = Uw gezichtsvector wordt meteen verwijderd en de ingangen herkennen u niet meer. Uw toestemming blijft: u kunt uw gezicht altijd opnieuw vastleggen.
remove-face-submit = Mijn gezichtsvector verwijderen
cancel-title = Registratie opzeggen
cancel-explained = Opzeggen verwijdert uw account, uw toestemming en uw gezichtsvector. Een gedateerde notitie dat u hebt opgezegd (zonder biometrische gegevens) blijft bewaard als bewijs. U kunt later opnieuw worden uitgenodigd.
cancel-submit = Mijn registratie opzeggen
cancelled-title = Registratie opgezegd
cancelled = Uw account, toestemming en gezichtsvector zijn verwijderd.

## Vastleggen met de webcam (de pagina en haar script)

enrol-title = Uw gezicht vastleggen
enrol-explained = Kijk recht in de camera, in goed licht, zonder iemand anders in beeld. Er worden een paar foto's gemaakt zodra de aanwijzingen zeggen dat ze goed zijn; ze worden omgezet in een gezichtsvector en meteen gewist.
enrol-starting = De camera wordt gestart…
enrol-start = Starten
enrol-back = Terug naar uw account
enrol-stop = Stoppen
enrol-stopped = Gestopt. Druk op Starten om het opnieuw te proberen.
enrol-network = De verbinding met Limen is verbroken; opnieuw proberen…
enrol-expired = Uw sessie is verlopen: log opnieuw in om uw gezicht vast te leggen.
enrol-timed-out = In twee minuten kwamen er geen goede foto's, dus de camera is gestopt. Controleer het licht en druk op Starten om het opnieuw te proberen.
enrol-without-script = Zonder JavaScript maakt of kiest u zelf tot { $max } foto's van uw gezicht: recht in de camera, in goed licht, zonder iemand anders in beeld.
enrol-pictures = Foto's van uw gezicht (hoogstens { $max })
enrol-upload = Foto's versturen
error-frame-bytes = Een foto mag hoogstens { $max } MiB zijn.
error-frame-type = Stuur foto's als JPEG of PNG.
enrol-press-start = Druk op Starten als u klaar bent.
enrol-look-straight = Kijk recht in de camera
enrol-turn-one-side = Draai uw hoofd een beetje naar één kant
enrol-turn-other-side = Nu een beetje naar de andere kant
enrol-good = Goed ({ $count } van { $total })
enrol-making = Uw gezichtsvector wordt gemaakt…
enrol-done = Klaar: uw gezicht is vastgelegd (model { $model }).
enrol-retrying = Opnieuw proberen…
enrol-camera-failed = De camera kon niet worden geopend: { $reason }
enrol-check-failed = Deze foto kon niet worden gecontroleerd.
enrol-failed = Het vastleggen is mislukt.
enrol-bad-answer = Onverwacht antwoord van de server.
enrol-hold-still = Goed: stil houden

## Advies over één foto van de camera

advice-no-face = geen gezicht gevonden: kijk recht in de camera
advice-several-faces = één gezicht tegelijk: zorg dat niemand anders in beeld is
advice-too-small = gezicht te klein: kom dichterbij
advice-blurred = beeld onscherp: houd stil
advice-too-dark = te donker: zorg voor licht vóór u
advice-too-bright = te licht: vermijd direct licht
advice-low-contrast = te weinig contrast: draai naar het licht
advice-turned-away = hoofd gedraaid: kijk recht in de camera
advice-tilted = hoofd scheef: houd uw hoofd rechtop
advice-weak-detection = gezicht niet duidelijk zichtbaar
advice-not-live = dit lijkt een foto of scherm voor de camera: leg uw eigen gezicht vast, vóór de camera, in gelijkmatig licht
advice-disagrees = deze foto toont niet hetzelfde gezicht als de andere
advice-undecodable = de foto kon niet worden gelezen

## Fouten die mensen kunnen zien

error-internal = Er ging bij ons iets mis; dat is vastgelegd. Probeer het later nog eens.
error-request = Dit verzoek kon niet worden verwerkt (fout { $status }); laad de pagina opnieuw en probeer het nog eens.
error-not-found = Hier is niets.
error-no-organisation = Deze organisatie bestaat niet.
error-no-consent = Voor het vastleggen is toestemming nodig: lees de privacyverklaring en geef eerst uw toestemming.
error-statement-outdated = De privacyverklaring is intussen gewijzigd. Lees haar opnieuw en geef toestemming voor de huidige versie.
error-frame-count = Stuur 1 tot { $max } foto's.
error-no-usable-frame = Geen enkele foto was bruikbaar: { $advice }
error-frames-disagree = De foto's tonen niet hetzelfde gezicht; probeer het opnieuw.
error-frame-too-large = De foto is { $width }×{ $height } pixels, groter dan van welke camera die Limen bedient ook.
error-busy = De gezichtsherkenning is bezet; probeer het zo opnieuw.
error-galleries = Limen kan zijn gegevens nu niet controleren; probeer het zo opnieuw.
error-invitation-unknown = Deze registratielink is niet geldig: hij is misschien al gebruikt of vervangen door een nieuwere.
error-invitation-expired = Deze registratielink is verlopen; vraag uw organisatie om een nieuwe uitnodiging.
error-already-registered = U bent al geregistreerd: log in.
error-password-too-short = Het wachtwoord moet minstens { $min } tekens lang zijn (een korte zin werkt goed).
error-password-too-long = Het wachtwoord mag hoogstens { $max } tekens lang zijn.
error-password-common = Dit wachtwoord is te gewoon of te makkelijk te raden; kies een ander.
error-password-contextual = Het wachtwoord mag niet bestaan uit uw e-mailadres, de naam van uw organisatie of de naam van de dienst.
error-wrong-credentials = Verkeerd e-mailadres of wachtwoord.
error-wrong-password = Het huidige wachtwoord klopt niet.
error-code-required = Vul ook de code uit uw authenticator-app in.
error-wrong-code = Dit is niet de huidige code uit uw authenticator-app (of hij is al gebruikt); wacht op de volgende en probeer het opnieuw.
error-two-step-state = Aanmelden in twee stappen staat niet zoals deze stap vraagt; ga terug naar de pagina van de organisatie en begin opnieuw.
error-too-many-logins = Te veel mislukte inlogpogingen; wacht even en probeer het opnieuw.
error-too-many-enrolments = Te veel pogingen in korte tijd; wacht een minuut en probeer het opnieuw.
error-model-changed = Het herkenningsmodel veranderde terwijl uw gezicht werd gelezen: leg het alstublieft opnieuw vast.
error-model-unavailable = Gezichtsherkenning is op deze server op dit moment niet beschikbaar.
error-csrf-header = Deze pagina is verlopen: laad haar opnieuw en probeer het nog eens.
invalid-email = Dit is geen geldig e-mailadres.
invalid-acs-id = Een id in het toegangssysteem bestaat uit 1 tot 64 zichtbare tekens zonder spaties.
invalid-name = Een naam telt 1 tot 100 tekens, zonder stuurtekens.
invalid-id = Deze identificatie is niet geldig.
invalid-vector = Een vector is een niet-lege lijst van eindige getallen.
invalid-pass-id = Een passage-id bestaat uit 1 tot 64 letters, cijfers, '-', '_' of '.'.
invalid-liveness-mode = Een echtheidscontrole staat uit (off), kijkt mee (monitor) of beslist (enforce).

## E-mails

mail-hello = Beste { $name },
mail-days = { $days ->
    [one] één dag
   *[other] { $days } dagen
}
mail-invitation-subject = { $organisation } nodigt u uit voor toegang met uw gezicht via Limen
mail-invitation-intro = { $organisation } nodigt u uit om de ingangen te passeren met uw gezicht, via Limen. Meedoen is uw eigen keuze.
mail-invitation-statement = Wat er met uw gegevens gebeurt, en uw rechten
mail-invitation-register = Registreren
mail-invitation-expiry = Deze link werkt één keer en verloopt over { $days }.
mail-invitation-decline = Wilt u niet meedoen, negeer dan dit bericht.
mail-admin-invitation-subject = Beheer de toegang met het gezicht van { $organisation } via Limen
mail-admin-invitation-intro = U bent uitgenodigd om de toegang met het gezicht van { $organisation } via Limen te beheren: de mensen, de ingangen en de camera's. U ziet nooit iemands gezicht of gezichtsgegevens.
mail-admin-invitation-register = Kies uw wachtwoord
mail-admin-invitation-decline = Had u dit niet verwacht, negeer dan dit bericht.
mail-reconsent-subject = { $organisation }: de privacyverklaring voor toegang met uw gezicht is gewijzigd
mail-reconsent-changed = De privacyverklaring waaronder u toestemming gaf voor toegang met uw gezicht bij { $organisation } is gewijzigd. Lees alstublieft de nieuwe verklaring.
mail-reconsent-statement = De nieuwe privacyverklaring
mail-reconsent-agree = Gaat u akkoord, log dan in en geef opnieuw toestemming.
mail-sign-in = Inloggen
mail-reconsent-until = Uw huidige toestemming en gezichtsvector blijven geldig tot { $until }. Hebt u dan nog niet opnieuw toestemming gegeven, dan vervalt uw toestemming en wordt uw gezichtsvector verwijderd, alsof u haar had ingetrokken. Gaat u niet akkoord, dan kunt u uw toestemming op elk moment intrekken op uw accountpagina.
mail-renewal-subject = Vernieuw alstublieft uw gezicht voor de ingangen
mail-renewal-reminder-subject = Herinnering: vernieuw alstublieft uw gezicht voor de ingangen
mail-renewal-why = Limen, dat de ingangen van uw organisatie voor u opent, herkent gezichten nu met een beter model. Uw gezichtsvector is door het vorige model gemaakt; vernieuw hem daarom: log in en leg uw gezicht opnieuw vast met uw webcam. Dat duurt een minuut en vervangt uw oude vector.
mail-renewal-until = Uw huidige vector blijft de deur openen tot { $until }. Daarna wordt hij verwijderd en herkennen de ingangen u niet meer tot u uw gezicht opnieuw vastlegt. Uw toestemming blijft zoals ze is; u kunt haar nog altijd intrekken.

## admin: people

admin-people-title = Personen
admin-people-import-heading = Personen importeren
admin-people-import-help = Een CSV-bestand zoals uw spreadsheet het opslaat (komma of puntkomma), met een eerste rij die de kolommen noemt: voornaam, achternaam, e-mail en pasnummer (acs_id), in het Nederlands of Engels; andere kolommen worden genegeerd. Elke rij wordt gecontroleerd en getoond voordat er iets wordt opgeslagen. Wie er al is, wordt aan het e-mailadres herkend en bijgewerkt.
admin-people-import-file = CSV-bestand
admin-people-import-check = Bestand controleren
admin-people-list-heading = Iedereen in uw organisatie
admin-people-search = Naam of e-mailadres
admin-people-search-button = Zoeken
admin-people-matching = { $count ->
    [one] Eén persoon.
   *[other] { $count } personen.
}
admin-people-range = U ziet { $from } tot en met { $to }.
admin-people-list-caption = Personen, met hoe ver ieder is tussen import en vastleggen van het gezicht. Gezichten worden nooit getoond.
admin-people-select = Kiezen
admin-people-select-person = { $name } kiezen
admin-people-column-name = Naam
admin-people-column-first-name = Voornaam
admin-people-column-last-name = Achternaam
admin-people-column-email = E-mailadres
admin-people-column-acs-id = Pasnummer (acs_id)
admin-people-column-status = Status
admin-people-column-actions = Acties
admin-people-column-row = Rij
admin-people-column-problems = Problemen
admin-people-column-line = De rij
admin-people-status-imported = geïmporteerd
admin-people-status-invited = uitgenodigd
admin-people-status-registered = geregistreerd
admin-people-status-consented = toestemming gegeven
admin-people-status-enrolled = gezicht vastgelegd
admin-people-status-renewal-needed = vernieuwing nodig
admin-people-resend = Uitnodiging opnieuw sturen
admin-people-resend-person = Uitnodiging opnieuw sturen aan { $name }
admin-people-erase = Wissen
admin-people-erase-person = { $name } wissen
admin-people-invite-selected = De gekozen personen uitnodigen
admin-people-invite-all = Iedereen uitnodigen die nog geen uitnodiging kreeg
admin-people-pages = Pagina's met personen
admin-people-previous = Vorige pagina
admin-people-next = Volgende pagina
admin-people-done-imported = { $count ->
    [one] Eén persoon geïmporteerd.
   *[other] { $count } personen geïmporteerd.
}
admin-people-done-erased = De persoon is gewist.
admin-people-done-invited = { $count ->
    [0] Geen uitnodiging verstuurd: er was niemand gekozen die er nog een nodig heeft.
    [one] Eén uitnodiging verstuurd.
   *[other] { $count } uitnodigingen verstuurd.
}
admin-people-done-invited-some = { $count ->
    [one] Eén uitnodiging verstuurd
   *[other] { $count } uitnodigingen verstuurd
}; { $failed ->
    [one] één kon niet worden verstuurd (al geregistreerd, of de mailserver weigerde haar). Probeer het later opnieuw.
   *[other] { $failed } konden niet worden verstuurd (al geregistreerd, of de mailserver weigerde ze). Probeer het later opnieuw.
}
admin-people-not-sent = De uitnodiging kon niet worden verstuurd: de mailserver nam haar niet aan. Er is niets gewijzigd; probeer het later opnieuw.
admin-people-erase-title = { $name } wissen?
admin-people-erase-explanation = Alles wat Limen over { $name } ({ $email }) bewaart, wordt verwijderd: het account, de toestemming en de gezichtsvectoren, en de persoon verdwijnt meteen uit de galerij van elke ingang. Doorgangen blijven meegeteld, maar noemen de persoon niet meer. Dit kan niet ongedaan worden gemaakt.
admin-people-erase-confirm = Alles over deze persoon wissen
admin-people-erase-keep = Persoon behouden en teruggaan
admin-people-import-title = Import controleren
admin-people-preview-fine = { $count ->
    [one] De ene rij is in orde. Er is nog niets opgeslagen.
   *[other] Alle { $count } rijen zijn in orde. Er is nog niets opgeslagen.
}
admin-people-preview-problems = { $count ->
    [one] Eén rij van de { $total } kan niet worden geïmporteerd, dus er is niets opgeslagen. Verbeter haar in uw spreadsheet en kies het bestand opnieuw.
   *[other] { $count } rijen van de { $total } kunnen niet worden geïmporteerd, dus er is niets opgeslagen. Verbeter ze in uw spreadsheet en kies het bestand opnieuw.
}
admin-people-import-confirm = { $count ->
    [one] Eén persoon importeren
   *[other] { $count } personen importeren
}
admin-people-import-cancel = Annuleren
admin-people-import-again = Het verbeterde bestand kiezen
admin-people-back = Terug naar de personen
admin-people-preview-caption = De rijen van het bestand, genummerd zoals uw spreadsheet ze nummert.
admin-people-row-fine = in orde
admin-people-preview-hidden = { $count ->
    [one] Nog één rij is in orde en wordt niet getoond.
   *[other] Nog { $count } rijen zijn in orde en worden niet getoond.
}
admin-people-problem = { $column }: { $problem }
admin-people-problem-email = geen geldig e-mailadres
admin-people-problem-acs-id = moet 1 tot 64 zichtbare tekens zijn, zonder spaties
admin-people-problem-name = moet 1 tot 100 tekens zijn
admin-people-problem-duplicate = hetzelfde als in rij { $row }
admin-people-problem-acs-id-taken = is al van iemand anders in uw organisatie
admin-people-problem-field-count = heeft { $found } velden waar de eerste rij er { $expected } noemt, dus de waarden staan mogelijk in de verkeerde kolommen
admin-people-problem-stray-quote = heeft een aanhalingsteken midden in een veld, dus de velden zijn mogelijk verkeerd gesplitst; sla het bestand opnieuw op vanuit uw spreadsheet
admin-people-file-empty = Het bestand bevat geen personen: het heeft een eerste rij met de kolomnamen nodig, en dan één rij per persoon.
admin-people-file-missing-columns = De eerste rij van het bestand moet de kolommen noemen; geen ervan wordt gelezen als: { $columns }. Noem ze bijvoorbeeld voornaam, achternaam, e-mail en pasnummer, of first_name, last_name, email en acs_id.
admin-people-file-repeated-column = Twee kolommen, ‘{ $first }’ en ‘{ $second }’, betekenen hetzelfde; houd er één van over.
admin-people-file-unclosed-quote = Een aanhalingsteken dat in rij { $row } opent, wordt nergens gesloten, dus het bestand kan niet worden gelezen; sla het opnieuw op vanuit uw spreadsheet.

## admin: entrances
admin-entrances-title = Ingangen en camera's
admin-entrances-none = Nog geen ingangen.
admin-entrances-connector-osdp = Koppeling: OSDP (de camera-agent is de lezer van het toegangspaneel)
admin-entrances-connector-http = Koppeling: HTTP, naar { $url }
admin-entrances-name = Naam
admin-entrances-rename = Naam wijzigen
admin-entrances-test = Test versturen
admin-entrances-test-accepted = { $entrance }: het toegangssysteem heeft de test aangenomen (HTTP { $status }).
admin-entrances-test-refused = { $entrance }: het toegangssysteem beantwoordde de test met HTTP { $status }. Controleer het geheim dat het heeft gekregen, en of het de gebeurtenis connection.test beantwoordt.
admin-entrances-test-no-answer = { $entrance }: het toegangssysteem gaf geen antwoord. In het logboek van de server staat waarom.
admin-entrances-cameras = Camera's bij { $entrance }
admin-entrances-camera = Camera
admin-entrances-added = Toegevoegd
admin-entrances-last-seen = Laatst gezien
admin-entrances-never = nooit
admin-entrances-frames = Beelden in het afgelopen uur
admin-entrances-status = Status
admin-entrances-up = In werking
admin-entrances-down = Uitgevallen
admin-entrances-revoke = Intrekken
admin-entrances-no-cameras = Nog geen camera's.
admin-entrances-add-camera = Camera toevoegen
admin-entrances-token-title = Het token van de nieuwe camera
admin-entrances-token-intro = Geef dit token aan de camera-agent bij { $entrance } (als LIMEN_DEVICE_TOKEN):
admin-entrances-token-once = Het wordt alleen nu getoond: Limen bewaart er alleen een hash van. Kwijtgeraakt? Trek de camera in en voeg hem opnieuw toe.
admin-entrances-delete = Deze ingang verwijderen
admin-entrances-delete-confirm = Ja, verwijderen: de camera's werken dan niet meer en de beslissingen bij deze ingang worden gewist
admin-entrances-confirm-needed = Vink het vakje aan om het verwijderen te bevestigen.
admin-entrances-add = Ingang toevoegen
admin-entrances-connector = Koppeling
admin-entrances-kind-osdp = OSDP: de camera-agent is de lezer van het toegangspaneel
admin-entrances-kind-http = HTTP: Limen vraagt het toegangssysteem
admin-entrances-url = URL van het toegangssysteem (alleen HTTP)
admin-entrances-secret = Gedeeld geheim (alleen HTTP, whsec_…)
admin-entrances-create = Ingang toevoegen
admin-entrances-name-invalid = De naam van een ingang telt 1 tot 100 tekens, zonder stuurtekens.
admin-entrances-url-invalid = Limen kan deze URL van het toegangssysteem niet gebruiken: hij begint met http:// of https://, bevat geen gebruikersnaam of wachtwoord en noemt een host die de beheerder van de server toestaat.
admin-entrances-secret-invalid = Het gedeelde geheim is whsec_ gevolgd door de base64 van 24 tot 64 willekeurige bytes.
admin-entrances-times = Tijden zijn in de tijdzone { $zone }.

## admin: events
admin-events-title = Beslissingen bij de ingangen
admin-events-filter = Beslissingen tonen
admin-events-entrance = Ingang
admin-events-outcome = Uitkomst
admin-events-all = Alle
admin-events-from = Vanaf (datum)
admin-events-until = Tot en met (datum)
admin-events-show = Tonen
admin-events-none = Geen beslissingen gevonden.
admin-events-caption = Nieuwste eerst. Tijden zijn in de tijdzone { $zone }.
admin-events-time = Tijd
admin-events-person = Persoon
admin-events-detail = Toelichting
admin-events-truncated = Alleen de nieuwste 500 worden getoond: verfijn de selectie om oudere te zien.
admin-events-date-invalid = Schrijf een datum als 2026-11-30.
admin-events-no-face = Geen gezicht
admin-events-poor-quality = Beeld niet goed genoeg
admin-events-unknown = Niet herkend
admin-events-matched = Herkend
admin-events-granted = Toegelaten
admin-events-denied = Geweigerd
admin-events-spoof-suspected = Vermoedelijk foto of scherm

## admin: audit
admin-audit-title = Auditlog
admin-audit-intact = Het auditlog is in orde: alle { $count } regels kloppen, en er is er aan het eind geen weggehaald.
admin-audit-broken = Het auditlog klopt niet meer vanaf regel { $seq }: het is mogelijk gewijzigd. Meld het aan de beheerder van deze Limen-server, die het kan controleren met limen admin audit verify.
admin-audit-none = Nog geen regels.
admin-audit-caption = Elke wijziging in uw organisatie, nieuwste eerst. Tijden zijn in de tijdzone { $zone }.
admin-audit-seq = Nr.
admin-audit-at = Tijd
admin-audit-actor = Door
admin-audit-action = Handeling
admin-audit-subject = Betreft
admin-audit-detail = Toelichting

## admin: organisation
admin-organisation-security = Beveiligingsniveau
admin-organisation-level = Hoe streng de herkenning is
admin-organisation-level-option = { $level }: hoogstens 1 op de { $one_in } onbekenden voor iemand anders aangezien
admin-organisation-level-standard = Standaard
admin-organisation-level-high = Hoog
admin-organisation-level-very-high = Zeer hoog
admin-organisation-save = Opslaan
admin-organisation-time-zone = Tijdzone
admin-organisation-time-zone-label = De tijden op deze pagina's staan in
admin-organisation-time-zone-unknown = Limen kent deze tijdzone niet; kies er een uit de lijst.
admin-organisation-model = Gezichtsmodel
admin-organisation-no-renewal = Gezichten worden herkend met model { $model }. Er loopt geen vernieuwing.
admin-organisation-renewal = Gezichten worden nu herkend met model { $model }; model { $retiring } wordt nog geaccepteerd tot { $until }. Vernieuwd: { $renewed }. Nog te vernieuwen: { $pending }. Verlopen zonder vernieuwing: { $expired }.
admin-organisation-language = Standaardtaal
admin-organisation-language-label = Voor mensen die geen taal hebben gekozen
admin-organisation-language-en = Engels (English)
admin-organisation-language-nl = Nederlands

## admin: audit words (what the audit trail and the decision events record)
admin-audit-action-organisation-created = Organisatie aangemaakt
admin-audit-action-organisation-renamed = Naam van de organisatie gewijzigd
admin-audit-action-organisation-deleted = Organisatie verwijderd, met haar gegevens en haar gegevenssleutel
admin-audit-action-admin-token-replaced = Beheertoken vervangen; het vorige werkt niet meer
admin-audit-action-admin-invited = Beheerder uitgenodigd
admin-audit-action-admin-registered = Beheerdersaccount ingesteld
admin-audit-action-admin-login-failed = Aanmelden als beheerder mislukt
admin-audit-action-admin-removed = Beheerder verwijderd
admin-audit-action-admin-two-step-on = Aanmelden in twee stappen aangezet
admin-audit-action-admin-two-step-off = Aanmelden in twee stappen uitgezet
admin-audit-action-admin-password-reset-requested = Beheerder vroeg een nieuw wachtwoord aan
admin-audit-action-admin-password-reset = Nieuw wachtwoord van een beheerder ingesteld; alle sessies van de beheerder beëindigd
admin-audit-action-api-key-created = API-sleutel aangemaakt
admin-audit-action-api-key-revoked = API-sleutel ingetrokken
admin-audit-action-security-level-changed = Beveiligingsniveau gewijzigd
admin-audit-action-language-changed = Standaardtaal gewijzigd
admin-audit-action-time-zone-changed = Tijdzone gewijzigd
admin-audit-action-entrance-created = Ingang toegevoegd
admin-audit-action-entrance-renamed = Naam van een ingang gewijzigd
admin-audit-action-entrance-deleted = Ingang verwijderd, met haar camera's en beslissingen
admin-audit-action-entrance-liveness-changed = Echtheidscontrole gewijzigd
admin-audit-action-entrance-connector-changed = Koppeling gewijzigd
admin-audit-action-device-registered = Camera toegevoegd
admin-audit-action-device-revoked = Camera ingetrokken
admin-audit-action-people-imported = Mensen geïmporteerd
admin-audit-action-invitation-sent = Uitnodiging verstuurd
admin-audit-action-person-erased = Persoon gewist, met alles wat over die persoon bewaard werd
admin-audit-action-account-registered = Account ingesteld
admin-audit-action-login-failed = Aanmelden mislukt
admin-audit-action-password-reset-requested = Nieuw wachtwoord aangevraagd
admin-audit-action-password-reset = Nieuw wachtwoord ingesteld; alle sessies beëindigd
admin-audit-action-password-change-failed = Wachtwoord niet gewijzigd: het huidige wachtwoord klopte niet
admin-audit-action-password-changed = Wachtwoord gewijzigd; andere sessies beëindigd
admin-audit-action-language-chosen = Taal gekozen
admin-audit-action-consent-given = Toestemming gegeven
admin-audit-action-consent-withdrawn = Toestemming ingetrokken; gezichtsvector verwijderd
admin-audit-action-consent-renewal-requested = Gevraagd toestemming te geven voor een nieuwe privacyverklaring
admin-audit-action-consent-lapsed = Toestemming vervallen; gezichtsvector verwijderd
admin-audit-action-vector-enrolled = Gezicht vastgelegd
admin-audit-action-vector-deleted = Gezichtsvector verwijderd
admin-audit-action-vector-migrated = Gezichtsvector omgezet naar een nieuw model
admin-audit-action-vector-retired = Gezichtsvector vervallen met zijn model
admin-audit-action-renewal-requested = Gevraagd het gezicht opnieuw vast te leggen
admin-audit-action-registration-cancelled = Registratie opgezegd; account, toestemming en gezichtsvector gewist
admin-audit-action-data-exported = Eigen gegevens gedownload
admin-audit-action-model-activated = Gezichtsmodel in gebruik genomen
admin-audit-action-master-key-rotated = Hoofdsleutel vervangen
admin-audit-action-bench-seeded = Testgegevens geschreven
admin-audit-by-operator = Beheerder van deze server
admin-audit-by-anonymous = Iemand die niet was aangemeld
admin-audit-by-admin = Beheerder { $id }
admin-audit-by-api-key = API-sleutel { $id }
admin-audit-by-employee = Medewerker { $id }
admin-audit-detail-name = Naam: { $name }
admin-audit-detail-admin = Beheerder { $admin }
admin-audit-detail-now = Nu: { $value }
admin-audit-detail-connector = Koppeling: { $connector }
admin-audit-detail-connector-url = Koppeling: { $connector }, naar { $url }
admin-audit-detail-connector-secret = Koppeling: HTTP, naar { $url }, met een nieuw gedeeld geheim
admin-audit-detail-entrance = Bij ingang { $entrance }
admin-audit-detail-consent = Verklaring { $statement } in het { $language }, gegeven via { $method }
admin-audit-detail-statement = Verklaring { $statement }
admin-audit-detail-lapsed = Niet opnieuw gegeven voor verklaring { $statement } binnen { $days ->
    [one] één dag
   *[other] { $days } dagen
} na de publicatie
admin-audit-detail-enrolled = Model { $model }, { $vectors ->
    [one] één vector
   *[other] { $vectors } vectoren
}
admin-audit-detail-renewal = Model { $model }, { $notice ->
    [0] eerste verzoek
   *[other] herinnering { $notice }
}; de oude vector werkt tot { $until }
admin-audit-detail-retired = Model { $model }; toestemming blijft, opnieuw vastleggen nodig
admin-audit-detail-migrated = Van model { $from } naar { $to }, zonder foto; toestemming blijft
admin-audit-detail-activated = Het vorige model herkent wie er nog vectoren van heeft tot { $until }
admin-audit-detail-invitation = Verloopt { $expires }
admin-audit-detail-imported = Personen { $first } tot en met { $last } van { $total }: { $created } toegevoegd, { $updated } bijgewerkt
admin-audit-detail-rekeyed = { $organisations } organisaties opnieuw versleuteld; { $vector_keys } vectorsleutels, { $connector_secrets } koppelingsgeheimen en { $admin_secrets } geheimen voor de tweede stap opnieuw ingepakt
admin-audit-liveness-off = uit
admin-audit-liveness-monitor = kijkt mee (vastgelegd, de deur merkt er niets van)
admin-audit-liveness-enforce = beslist (een foto of scherm wordt geweigerd)
admin-events-detail-frames = { $frames } beelden van één passage
admin-events-detail-live-score = echtheidsscore { $score }
admin-events-detail-refused = geweigerd door het toegangssysteem
admin-events-detail-no-answer = het toegangssysteem gaf geen antwoord

## admin: password-reset
admin-reset-done = Uw wachtwoord is gewijzigd en al uw eerdere sessies zijn beëindigd. Meld u aan met het nieuwe wachtwoord (en, als u die hebt ingesteld, de code uit uw authenticator-app).

## admin: entrances-connector
admin-entrances-connector-url = URL van het toegangssysteem
admin-entrances-new-secret = Nieuw gedeeld geheim (whsec_…)
admin-entrances-new-secret-hint = Laat het leeg om het huidige geheim te houden. Het geheim wordt nooit meer getoond.
admin-entrances-change-connector = Koppeling opslaan
admin-entrances-osdp-no-settings = Een OSDP-ingang heeft geen koppelingsinstellingen om te wijzigen: de camera-agent is de lezer van het toegangspaneel.

## admin: people-sending
admin-people-done-queued = { $count } uitnodigingen worden verstuurd. Laad de pagina opnieuw om te zien hoe ver het is.
admin-people-sending-heading = Uitnodigingen aan iedereen
admin-people-sending = Verstuurd: { $sent }. Wachtend: { $waiting }. Niet verstuurd: { $failed }.
admin-people-sending-failed = Deze konden na enkele pogingen niet worden verstuurd (de mailserver nam ze niet aan); nodig ze later opnieuw uit:
