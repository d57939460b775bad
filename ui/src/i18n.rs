//! Every string the UI shows, Czech first and English second, in one table so the two
//! languages stay in step. Domain labels (statuses, kinds, levels) come from the model's
//! `label_cs` / `label_en`.

/// The UI language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Cs,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Cs => "cs",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "cs" => Some(Lang::Cs),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Picks the Czech or English label of a domain value.
pub fn label<'a>(lang: Lang, cs: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Cs => cs,
        Lang::En => en,
    }
}

macro_rules! texts {
    ($($name:ident: $cs:literal, $en:literal;)*) => {
        /// A UI string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum T { $($name),* }

        impl T {
            pub fn get(self, lang: Lang) -> &'static str {
                match lang {
                    Lang::Cs => match self { $(T::$name => $cs),* },
                    Lang::En => match self { $(T::$name => $en),* },
                }
            }
        }
    };
}

texts! {
    Exercise: "Cvičení", "Exercise";
    KeyExercise: "Cvičení (jen v prostoru cvičení)", "Exercise (in an exercise space only)";
    ExClock: "Hodiny cvičení", "Exercise clock";
    ExPhaseNotStarted: "nezahájeno", "not started";
    ExPhaseRunning: "běží", "running";
    ExPhasePaused: "přerušeno", "paused";
    ExPhaseStopped: "ukončeno", "stopped";
    ExStartedAt: "zahájeno", "started";
    ExStoppedAt: "ukončeno", "stopped";
    ExStart: "Zahájit", "Start";
    ExPause: "Přerušit", "Pause";
    ExResume: "Pokračovat", "Resume";
    ExStop: "Ukončit", "Stop";
    ExStopQuestion: "Opravdu ukončit cvičení? Hodiny se zastaví natrvalo a další vstupy už nebudou vydány.", "Really stop the exercise? The clock stops for good and no further injects are released.";
    ExStopYes: "Ukončit cvičení", "Stop the exercise";
    ExJump: "Skok na vstup", "Jump to inject";
    ExInjectNumber: "Číslo vstupu", "Inject number";
    ExJumpSubmit: "Skočit", "Jump";
    ExNext: "Další vstupy", "Next injects";
    ExNoNext: "Ve scénáři nezbývá žádný další vstup.", "No further injects in the scenario.";
    ExScenario: "Scénář", "Scenario";
    ExInjects: "vstupů", "injects";
    ExEmptyScenario: "Scénář je zatím prázdný.", "The scenario is empty so far.";
    ExLoadSample: "Načíst ukázkový scénář (povodeň ve Zlínském kraji)", "Load the sample scenario (flood in the Zlín region)";
    ExReleased: "Vydané vstupy", "Released injects";
    ExNoReleased: "Zatím nebyl vydán žádný vstup.", "No inject has been released yet.";
    ExNumber: "Číslo", "No.";
    ExTime: "Čas", "Time";
    ExTo: "Komu", "To";
    ExFrom: "Od", "From";
    ExChannel: "Způsob", "Channel";
    ExSubject: "Předmět", "Subject";
    ExMessage: "Zpráva", "Message";
    ExTrigger: "Spouštěč", "Trigger";
    ExInject: "Vstup", "Inject";
    ExPlanned: "plán", "scheduled";
    ExReleasedAt: "vydáno", "released";
    ExReached: "dorazilo", "reached";
    ExNotYet: "zatím ne", "not yet";
    ExAdHocMark: "mimořádný", "ad hoc";
    ExAdHoc: "Mimořádný vstup", "Ad-hoc inject";
    ExAdHocHelp: "Vydá se ihned, mimo scénář, v nynějším čase cvičení.", "Released at once, outside the scenario, at the exercise time now.";
    ExAdHocSubmit: "Vydat mimořádný vstup", "Release the ad-hoc inject";
    ExToHint: "všichni, ORP Vsetín, předseda štábu, jméno", "všichni (all), ORP Vsetín, a role, a name";
    ExMore: "a další", "and more";
    ExPlayerNote: "Vidíte vstupy, které řízení cvičení už vydalo, nejnovější nahoře. Co přijde dál, ví jen řízení cvičení.", "These are the injects exercise control has released, newest first. Only exercise control knows what comes next.";
    ExNoControlKey: "Klíč řízení cvičení sem zatím nedorazil; spojte se s jiným řídícím cvičení. Do té doby vidíte jen vydané vstupy.", "The exercise control key has not reached this computer yet; connect to another exercise leader. Until then you see the released injects only.";
    ExControl: "Řízení cvičení", "Exercise control";
    EvTitle: "Vyhodnocení", "Evaluation";
    EvHotWash: "Bezprostřední rozbor (hot wash)", "Hot wash";
    EvReleasedCount: "Vydané vstupy", "Released injects";
    EvExpected: "Očekávané reakce", "Expected actions";
    EvObjective: "Cíl", "Objective";
    EvExpectedAction: "Očekávaná reakce", "Expected action";
    EvScenarioSize: "scénář", "scenario";
    EvMet: "Splněno", "Met";
    EvYes: "ano", "yes";
    EvNo: "ne", "no";
    EvLate: "pozdě", "late";
    EvJudged: "hodnotitel", "evaluator";
    EvNotJudged: "nehodnoceno", "not judged";
    EvWhoWhen: "Kdo a kdy", "By whom, when";
    EvResponseTime: "Doba reakce", "Response time";
    EvComment: "Komentář hodnotitele", "Evaluator's comment";
    EvNoExpected: "Žádný vydaný vstup zatím nemá očekávanou reakci.", "No released inject has an expected action yet.";
    EvTimes: "Doby reakce", "Response times";
    EvByOrp: "Podle ORP", "By ORP";
    EvByRole: "Podle role", "By role";
    EvOrp: "ORP", "ORP";
    EvRole: "Role", "Role";
    EvAnswered: "Odpovědí", "Answered";
    EvMedian: "Medián", "Median";
    EvLongest: "Nejdéle", "Longest";
    EvNoResponses: "Zatím žádná odpověď.", "No response yet.";
    EvUnanswered: "Vstupy bez odezvy", "Injects without a response";
    EvAllAnswered: "Na každý vstup s očekávanou reakcí někdo odpověděl.", "Every inject with an expected action has a response.";
    EvObjectives: "Výsledky podle cílů", "Results by objective";
    EvOf: "z", "of";
    EvNone: "Zatím nic.", "Nothing yet.";
    EvPlan: "Plán nápravných opatření", "Improvement plan";
    EvNoPlan: "Hodnotitelé zatím nenavrhli žádné nápravné opatření.", "The evaluators have proposed no corrective action yet.";
    EvFinding: "Zjištění", "Finding";
    EvAction: "Nápravné opatření", "Corrective action";
    EvOwner: "Odpovídá", "Owner";
    EvDue: "Termín", "Due";
    EvTimeline: "Časová osa", "Timeline";
    EvTask: "úkol", "task";
    EvReport: "situační zpráva", "situation report";
    EvRequest: "požadavek", "request";
    EvJournal: "deník", "journal";
    EvIncident: "událost", "incident";
    EvObservation: "Pozorování", "Observation";
    EvCorrective: "Nápravné opatření (nepovinné)", "Corrective action (optional)";
    EvObserve: "Zapsat pozorování", "Record the observation";
    EvObservationEmpty: "Napište komentář, nebo zvolte, zda byla reakce splněna.", "Write a comment or say whether the action was met.";
    EvActionMissing: "Popište nápravné opatření, nebo smažte odpovědnou osobu a termín.", "Describe the corrective action, or clear its owner and due date.";
    SavePdf: "Uložit PDF", "Save PDF";
    SaveCsv: "Uložit CSV", "Save CSV";
    SavedTo: "Uloženo do:", "Saved to:";
    AnswerJournal: "Odpovědět záznamem v deníku", "Answer with a journal entry";
    AnswerTask: "Založit úkol", "Create a task";
    AnswerReport: "Odpovědět situační zprávou", "Answer with a situation report";
    AnswerTo: "Odpověď na vstup", "Answer to inject";
    AnswerSubmit: "Uložit odpověď", "Save the answer";
    AnswerNotAllowed: "Vaše role na vstupy odpovídat nemůže.", "Your role cannot answer injects.";
    MembersTitle: "Členové prostoru", "Members of the space";
    KeyEpoch: "Klíč: epocha", "Key: epoch";
    Deliveries: "Doručení", "Delivery";
    Founder: "zakladatel", "founder";
    RemovedMark: "odebrán", "removed";
    You: "vy", "you";
    ChangeRole: "Změnit roli", "Change role";
    NewRole: "Nová role", "New role";
    ContinueStep: "Pokračovat", "Continue";
    ConfirmStep: "Potvrdit", "Confirm";
    CancelStep: "Zrušit", "Cancel";
    OnlyChairChangesRoles: "Role členů mění jen předseda nebo tajemník štábu.", "Only the chair or the secretary changes members' roles.";
    OnlyChairInvites: "Pozvat a přijmout nového člena může jen předseda nebo tajemník štábu.", "Only the chair or the secretary invites and admits new members.";
    NoMembers: "Seznam členů zatím není načten.", "The member list is not loaded yet.";
    InviteQr: "Kód pozvánky jako QR kód", "The invite code as a QR code";
    InviteTooLongForQr: "Kód je na QR kód příliš dlouhý; přečtěte ho nebo zkopírujte.", "The code is too long for a QR code; read it out or copy it.";

    Tagline: "Koordinace krizového štábu — funguje i bez sítě.", "Crisis staff coordination that keeps working without the network.";
    NotClassified: "Není určeno pro utajované informace.", "Not for classified information.";
    Connecting: "Připojuji se k jádru aplikace…", "Connecting to the application core…";
    Loading: "Načítám…", "Loading…";
    SignedInAs: "Přihlášen(a) jako", "Signed in as";
    CreateIdentity: "Vytvořit identitu", "Create identity";
    CreateIdentityHelp: "Identita patří tomuto počítači. Heslo chrání klíče a data na disku; bez něj je nikdo nepřečte a nelze ho obnovit.", "The identity belongs to this computer. The passphrase protects the keys and data on disk; nobody can read them without it, and it cannot be recovered.";
    YourName: "Vaše jméno", "Your name";
    Passphrase: "Heslo", "Passphrase";
    PassphraseAgain: "Heslo znovu", "Passphrase again";
    PassHint: "Nejméně 8 znaků; nejlépe několik slov.", "At least 8 characters; several words are best.";
    PassTooShort: "Síla hesla: příliš krátké", "Strength: too short";
    PassWeak: "Síla hesla: slabé", "Strength: weak";
    PassFair: "Síla hesla: přijatelné", "Strength: fair";
    PassStrong: "Síla hesla: silné", "Strength: strong";
    Unlock: "Odemknout", "Unlock";
    CreateSpace: "Založit prostor", "Create a space";
    CreateSpaceHelp: "Prostor je sdílené pracoviště jednoho štábu. Stanete se jeho předsedou.", "A space is one staff's shared workspace. You become its chair.";
    SpaceName: "Název prostoru", "Space name";
    JoinSpace: "Vstoupit do prostoru", "Join a space";
    JoinHelp: "Zadejte kód pozvánky od člena štábu. Obsahuje-li za znakem @ adresu jeho počítače, připojíte se po síti jedním krokem. Jinak aplikace vytvoří kód žádosti, který mu pošlete zpět, a on vám vrátí uvítací kód.", "Enter the invite code from a staff member. If it carries their computer's address after @, you join over the network in one step. Otherwise the app makes a request code to send back, and they return a welcome code.";
    InviteCode: "Kód pozvánky", "Invite code";
    JoinStep1: "Vytvořit žádost", "Make the request";
    SendRequestBack: "Pošlete tento kód žádosti tomu, kdo vás pozval:", "Send this request code to whoever invited you:";
    WelcomeCode: "Uvítací kód", "Welcome code";
    JoinStep2: "Vstoupit", "Join";
    Back: "Zpět", "Back";
    Space: "Prostor", "Space";
    AddSpace: "+ založit nebo přidat prostor…", "+ create or join a space…";
    Board: "Přehled", "Board";
    Tasks: "Úkoly", "Tasks";
    Reports: "Situační zprávy", "Situation reports";
    Journal: "Deník", "Journal";
    Requests: "Požadavky", "Requests";
    Incidents: "Události", "Incidents";
    Contacts: "Kontakty", "Contacts";
    Members: "Pozvánky", "Invites";
    BoardMode: "Projektor", "Projector";
    KeyBoard: "Přehled pro projektor (velké písmo)", "Board for a projector (large type)";
    CommaHint: "více oddělte čárkou", "separate several with commas";
    BoardExit: "Esc — zpět", "Esc — back";
    Light: "Světlý motiv", "Light theme";
    Dark: "Tmavý motiv", "Dark theme";
    Saved: "Uloženo", "Saved";
    Help: "Nápověda", "Help";
    Shortcuts: "Klávesové zkratky", "Keyboard shortcuts";
    Close: "Zavřít", "Close";
    KeyNewTask: "Nový úkol", "New task";
    KeyJournal: "Zápis do deníku", "Journal entry";
    KeyReport: "Nová situační zpráva", "New situation report";
    KeyRequest: "Nový požadavek", "New request";
    KeyFilter: "Hledat v seznamu", "Search the list";
    KeyTheme: "Světlý / tmavý motiv", "Light / dark theme";
    KeyLang: "Čeština / English", "Čeština / English";
    KeySubmit: "Odeslat formulář z víceřádkového pole", "Submit the form from a multi-line field";
    KeyEscape: "Zavřít dialog, opustit režim projektoru", "Close the dialog, leave projector mode";
    AsOf: "Stav k", "As of";
    Overdue: "Po termínu", "Overdue";
    ActiveIncidents: "Aktivní mimořádné události", "Active incidents";
    NoneActive: "Žádné aktivní události.", "No active incidents.";
    LatestReports: "Poslední situační zprávy", "Latest situation reports";
    NoReports: "Zatím žádné situační zprávy.", "No situation reports yet.";
    OpenRequests: "Otevřené požadavky", "Open requests";
    NoneOpen: "Žádné otevřené požadavky.", "No open requests.";
    Due: "termín", "due";
    NewTask: "Nový úkol", "New task";
    Title: "Název", "Title";
    Description: "Popis", "Description";
    Assignees: "Odpovídá", "Assignees";
    AssigneesHint: "člen nebo ORP, více oddělte čárkou", "member or ORP, separate several with commas";
    Deadline: "Termín", "Deadline";
    Priority: "Priorita", "Priority";
    Number: "Číslo", "Number";
    CreateTask: "Zadat úkol", "Create task";
    Filter: "Hledat", "Search";
    FilterHint: "Hledat (Alt+F)…", "Search (Alt+F)…";
    Shown: "Zobrazeno", "Shown";
    Discard: "Zahodit rozepsané", "Discard draft";
    Status: "Stav", "Status";
    Conflict: "Souběžná změna", "Concurrent change";
    MoreRows: "dalších — upřesněte hledání", "more — refine the search";
    StatusConflict: "Souběžně byly zadány různé stavy", "Different statuses were set concurrently";
    FieldConflict: "Souběžně byly zadány různé hodnoty", "Different values were set concurrently";
    ChooseResolution: "Vyberte platnou hodnotu; volba se zapíše a rozešle jako každá jiná změna.", "Choose the valid value; the choice is recorded and synced like any other change.";
    MoveTo: "Změnit stav na", "Move to";
    StatusNote: "Poznámka ke změně stavu", "Note on the status change";
    Remove: "Odebrat", "Remove";
    AddAssignee: "Přidat odpovědného", "Add assignee";
    NewDeadline: "Nový termín", "New deadline";
    Outcome: "Výsledek", "Outcome";
    SaveChanges: "Uložit změny", "Save changes";
    Comments: "Komentáře", "Comments";
    NewComment: "Nový komentář", "New comment";
    AddComment: "Přidat komentář", "Add comment";
    NewReport: "Nová situační zpráva", "New situation report";
    CorrectionOf: "Oprava zprávy", "Correction of report";
    ReportKind: "Druh zprávy", "Report kind";
    Sender: "Odesílatel", "Sender";
    ReportNumber: "Číslo zprávy", "Report number";
    AutoNumber: "automaticky", "automatic";
    Recipient: "Adresát", "Recipient";
    Period: "Období", "Period";
    Situation: "Popis situace", "Situation";
    Impact: "Dopady", "Impact";
    Injured: "Zraněné osoby", "Injured";
    Dead: "Oběti", "Dead";
    Evacuated: "Evakuované osoby", "Evacuated";
    Missing: "Nezvěstné osoby", "Missing";
    AffectedBuildings: "Zasažené objekty", "Affected buildings";
    SupplyOutages: "Přerušené dodávky", "Supply outages";
    Measures: "Přijatá opatření", "Measures taken";
    Forces: "Nasazené síly a prostředky", "Forces and means deployed";
    Expected: "Předpokládaný vývoj", "Expected development";
    PreparedBy: "Zpracoval", "Prepared by";
    ContactInfo: "Kontakt", "Contact";
    SendImmutable: "Odeslanou zprávu už nelze měnit; opravu pošlete jako novou zprávu.", "A sent report cannot be changed; send a correction as a new report.";
    SendReport: "Odeslat zprávu", "Send report";
    Superseded: "nahrazena opravou", "superseded";
    Open: "Zobrazit", "Open";
    Correct: "Opravit", "Correct";
    Print: "Tisk / PDF", "Print / PDF";
    EntryKind: "Druh", "Kind";
    EntryText: "Záznam", "Entry";
    QuickEntryHint: "Napište a stiskněte Enter", "Type and press Enter";
    EventTime: "Čas události", "Event time";
    Now: "teď", "now";
    Source: "Zdroj", "Source";
    SimulatedFor: "Za simulovaný subjekt", "As simulated body";
    SimulatedForHint: "simulační buňka, např. ČHMÚ", "simulation cell, e.g. ČHMÚ";
    CorrectsEntry: "Oprava záznamu", "Correction of entry";
    AddEntry: "Zapsat", "Add entry";
    FilterByKind: "Druh záznamu", "Entry kind";
    All: "vše", "all";
    Author: "Autor", "Author";
    Written: "zapsáno", "written";
    Correction: "oprava", "correction";
    NewRequest: "Nový požadavek", "New request";
    Requester: "Žadatel", "Requester";
    Item: "Položka", "Item";
    Quantity: "Množství", "Quantity";
    Unit: "Jednotka", "Unit";
    DeliveryPlace: "Místo dodání", "Delivery place";
    NeededBy: "Potřebné do", "Needed by";
    Reason: "Zdůvodnění", "Reason";
    CreateRequest: "Podat požadavek", "Submit request";
    StatusReason: "Důvod (povinný při zamítnutí)", "Reason (required to reject)";
    RejectNeedsReason: "Zamítnutí musí mít důvod.", "A rejection needs a reason.";
    NewIncident: "Nová mimořádná událost", "New incident";
    IncidentKind: "Druh události", "Kind of incident";
    Choose: "— vyberte —", "— choose —";
    Place: "Místo", "Place";
    Level: "Stupeň", "Level";
    Start: "Začátek", "Start";
    Municipalities: "Dotčené obce", "Municipalities affected";
    CreateIncident: "Založit událost", "Create incident";
    IncidentState: "Stav", "State";
    NewContact: "Nový kontakt", "New contact";
    Name: "Jméno", "Name";
    Function: "Funkce", "Function";
    Organization: "Organizace", "Organisation";
    Phone: "Telefon", "Phone";
    Email: "E-mail", "E-mail";
    DataBox: "Datová schránka", "Data box";
    Radio: "Radiové spojení", "Radio call sign";
    Note: "Poznámka", "Note";
    CreateContact: "Uložit kontakt", "Save contact";
    InviteTitle: "Pozvat nové pracoviště", "Invite a workstation";
    InviteHelp: "Jednorázový kód přečtěte do telefonu nebo pošlete zprávou; klíč prostoru v něm není.", "Read the one-use code over the phone or send it; it does not contain the space key.";
    Role: "Role", "Role";
    ValidHours: "Platnost (hodin)", "Valid for (hours)";
    InviteOrp: "ORP koordinátora (např. Vsetín)", "The coordinator's ORP (e.g. Vsetín)";
    RevokeDeviceButton: "Odebrat zařízení", "Revoke device";
    RevokeQuestion: "Opravdu odebrat zařízení", "Really revoke the device";
    RevokeExplain: "Co na něm kdo napíše, nebude platit, a ostatní dostanou nový klíč, který toto zařízení nepřečte.", "What anyone writes on it will not count, and everyone else gets a new key this device cannot read.";
    OrpRequired: "Koordinátor ORP musí mít uvedenou svou ORP.", "An ORP coordinator needs their ORP.";
    HoursRange: "Zadejte 1 až 720 hodin.", "Enter 1 to 720 hours.";
    CreateInvite: "Vytvořit pozvánku", "Create invite";
    AcceptTitle: "Přijmout žádost", "Accept a request";
    AcceptHelp: "Vložte kód žádosti, který vám pozvaný poslal; aplikace vytvoří uvítací kód.", "Paste the request code the invitee sent; the app makes a welcome code.";
    RequestCode: "Kód žádosti", "Request code";
    Admit: "Přijmout", "Admit";
    SendWelcome: "Pošlete tento uvítací kód zpět:", "Send this welcome code back:";
    InviteNetworkNote: "Když je tento počítač připojen k síti, kód pozvánky obsahuje za znakem @ i jeho adresu: pozvaný se pak připojí jedním krokem. Bez sítě použijte výměnu žádosti a uvítacího kódu.", "While this computer is on the network, the invite code carries its address after @, so the invitee joins in one step. Without a network, exchange the request and welcome codes.";
    Network: "Síť", "Network";
    Online: "Připojeno", "Online";
    Offline: "Bez spojení", "Offline";
    OfflineTitle: "Bez spojení s ostatními pracovišti.", "No connection to other workstations.";
    OfflineText: "Vše se ukládá na tento počítač a odešle se samo, jakmile bude dostupný jiný počítač štábu.", "Everything is saved on this computer and is sent by itself as soon as another staff computer is reachable.";
    Unsent: "Neodesláno", "Unsent";
    UnsentHelp: "změny z tohoto počítače, které zatím nemá žádný jiný počítač", "changes from this computer that no other computer has yet";
    ConnectedComputers: "Připojené počítače", "Connected computers";
    NoPeers: "Žádný jiný počítač není právě dostupný.", "No other computer is reachable right now.";
    NoPeersYet: "V tomto spuštění aplikace zatím neproběhlo spojení s jiným počítačem.", "No other computer has been reached since the app started.";
    Computer: "Počítač", "Computer";
    State: "Stav", "State";
    LastSync: "Poslední synchronizace", "Last sync";
    UnknownComputer: "počítač mimo vaše prostory", "computer outside your spaces";
    PeerConnected: "připojen", "connected";
    PeerGone: "odpojen", "disconnected";
    PeerAddresses: "Adresy uzlů", "Peer addresses";
    PeerAddressHelp: "Počítače ve stejné místní síti se najdou samy. Adresu zadejte pro uzel jinde, např. serverový uzel kraje; aplikace se k němu bude připojovat i po restartu.", "Computers on the same local network find each other. Enter an address for a peer elsewhere, e.g. the region's server node; the app keeps dialling it after a restart.";
    PeerAddress: "Adresa uzlu", "Peer address";
    AddPeer: "Přidat uzel", "Add peer";
    OwnAddresses: "Adresy tohoto počítače (pro správce)", "This computer's addresses (for administrators)";
    Joining: "Připojuji se k zvoucímu počítači…", "Contacting the inviting computer…";
}
