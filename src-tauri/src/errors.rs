//! Engine errors as one Czech sentence for the person at the keyboard: the UI never sees a
//! debug dump, a path to a key or an English stack of causes.

use krizlink_core::api::{field_label_cs, FieldError};
use krizlink_core::engine::audit::AuditError;
use krizlink_core::engine::keystore::KeystoreError;
use krizlink_core::engine::node::{ExerciseError, NodeError, WriteError};
use krizlink_core::engine::oplog::OpLogError;
use krizlink_core::engine::private;
use krizlink_core::op::InvalidOp;
use krizlink_core::record::ValueProblem;

/// The Czech name of a record kind as messages say it (the model's, shared with refusals).
pub use krizlink_core::authority::kind_label_cs as kind_cs;

fn value_problem(p: &ValueProblem) -> String {
    match p {
        ValueProblem::TooLong { max, .. } => format!("je příliš dlouhý text (nejvýše {max} bajtů)"),
        ValueProblem::Empty => "nesmí být prázdné".into(),
        ValueProblem::ControlCharacter => "obsahuje nepovolený řídicí znak".into(),
        ValueProblem::ImplausibleTime => "má datum mimo roky 1970 až 9999".into(),
        ValueProblem::InvalidCoordinates => "má souřadnice mimo zeměkouli".into(),
    }
}

fn invalid(e: &InvalidOp) -> String {
    match e {
        InvalidOp::ImmutableRecord { kind } => format!(
            "Záznam typu {} se po odeslání už nemění; opravu napište jako nový záznam.",
            kind_cs(*kind)
        ),
        InvalidOp::MissingRequired { field, .. } | InvalidOp::EmptyRequired { field } => {
            format!("Pole „{}“ je povinné.", field_label_cs(*field))
        }
        InvalidOp::BadValue { field, problem } => {
            format!(
                "Pole „{}“ {}.",
                field_label_cs(*field),
                value_problem(problem)
            )
        }
        InvalidOp::BadElement { problem } => format!("Položka seznamu {}.", value_problem(problem)),
        InvalidOp::BadComment { problem } => format!("Komentář {}.", value_problem(problem)),
        InvalidOp::BadNote { problem } => {
            format!("Poznámka ke změně stavu {}.", value_problem(problem))
        }
        InvalidOp::InvalidTransition { from, to } => format!(
            "Stav nelze změnit z „{}“ na „{}“.",
            from.label_cs(),
            to.label_cs()
        ),
        InvalidOp::RejectionWithoutReason => "Zamítnutí požadavku musí mít uvedený důvod.".into(),
        InvalidOp::TooManyChanges { .. } => {
            "Změna je příliš rozsáhlá; rozdělte ji na menší.".into()
        }
        InvalidOp::NoComments { kind } => {
            format!("K záznamu typu {} nelze psát komentáře.", kind_cs(*kind))
        }
        InvalidOp::NoStatus { kind } => format!("Záznam typu {} nemá stav.", kind_cs(*kind)),
        other => format!("Změnu nelze uložit, protože je neplatná ({other})."),
    }
}

/// Whether the engine refused a link or a foreign file in the data dir (`engine::private`).
fn refused_in_data_dir(e: &NodeError) -> bool {
    let source = match e {
        NodeError::Io { source, .. }
        | NodeError::OpLog(OpLogError::Io { source, .. })
        | NodeError::Keystore(KeystoreError::Io { source, .. })
        | NodeError::Audit(AuditError::Io { source, .. }) => source,
        _ => return false,
    };
    private::refusal(source).is_some()
}

/// The sentence for a failed engine call.
pub fn cs(e: &NodeError) -> String {
    if refused_in_data_dir(e) {
        return "V datovém adresáři je symbolický odkaz nebo soubor jiného uživatele; KrizLink ho z bezpečnostních důvodů nepoužije. Obraťte se na správce (podrobnosti vypíše krizlink-node)."
            .into();
    }
    match e {
        NodeError::NotInitialized(_) => "Na tomto počítači zatím není vytvořena identita.".into(),
        NodeError::AlreadyInitialized(_) => {
            "Na tomto počítači už identita existuje; odemkněte ji heslem.".into()
        }
        NodeError::InUse(_) => {
            "Data aplikace má otevřená jiný běžící program KrizLink; zavřete ho a zkuste to znovu."
                .into()
        }
        NodeError::WrongPassphrase => {
            "Nesprávné heslo. Pokus byl zapsán do bezpečnostního záznamu.".into()
        }
        NodeError::Keystore(_) => {
            "Úložiště klíčů je poškozené nebo nečitelné; obraťte se na správce.".into()
        }
        NodeError::UnknownSpace(_) => "Tento pracovní prostor na tomto počítači není.".into(),
        NodeError::UnknownRecord { kind, .. } => {
            format!("Záznam ({}) v tomto prostoru neexistuje.", kind_cs(*kind))
        }
        NodeError::BadSpaceName => format!(
            "Název prostoru musí mít 1 až {} bajtů textu bez řídicích znaků.",
            krizlink_core::engine::node::MAX_SPACE_NAME
        ),
        NodeError::Invalid(i) => invalid(i),
        NodeError::Clock(_) => {
            "Hodiny počítače neodpovídají; zkontrolujte datum a čas systému.".into()
        }
        NodeError::OpLog(_) | NodeError::Io { .. } => {
            "Změnu nelze zapsat na disk; nic nebylo uloženo. Zkontrolujte disk a oprávnění.".into()
        }
        NodeError::Store { .. } => {
            "Odvozená data nelze uložit; změny jsou v bezpečí v záznamu operací.".into()
        }
        NodeError::Audit(_) => "Bezpečnostní záznam nelze zapsat; akce nebyla provedena.".into(),
        NodeError::Envelope(_) => {
            "Operace byla odmítnuta, protože neprošla kontrolou podpisu nebo šifrování.".into()
        }
        NodeError::Apply(_) => "Změnu nelze použít na současný stav záznamu.".into(),
        NodeError::Random => {
            "Operační systém neposkytl náhodná čísla; akce nebyla provedena.".into()
        }
        NodeError::Invite(i) => format!("Pozvánku nelze použít: {}.", invite_cs(i)),
        NodeError::BadValidity => "Pozvánka musí platit 1 minutu až 30 dní.".into(),
        NodeError::DiskFull(_) => {
            "Disk je plný; nic nebylo změněno. Uvolněte místo a zkuste to znovu.".into()
        }
        NodeError::Damaged(_) => {
            "Tento prostor je jen pro čtení, dokud správce neopraví poškozený záznam operací."
                .into()
        }
        NodeError::Refused(refusal) => refusal.explain_cs(),
        NodeError::MayNotInvite => "Zvát do prostoru může jen předseda nebo tajemník štábu.".into(),
        NodeError::UnknownMember(who) => format!("Člen „{who}“ v tomto prostoru není."),
        NodeError::AmbiguousMember { name, count } => format!(
            "Jméno „{name}“ má {count} členů; vyberte člena podle zařízení."
        ),
        NodeError::LastChair => {
            "Štáb by zůstal bez předsedy; nejprve jmenujte předsedou jiného člena.".into()
        }
        NodeError::LastLeader => {
            "Cvičení by zůstalo bez řídícího; nejprve jmenujte řídícím cvičení jiného člena."
                .into()
        }
        NodeError::Rekey(e) => format!("Nový klíč prostoru nelze vytvořit: {e}."),
        NodeError::OrpRequired => {
            "Pozvánka pro koordinátora ORP musí uvádět jeho ORP (nejvýše 200 znaků).".into()
        }
        NodeError::OrpOnlyForCoordinator => {
            "ORP se uvádí jen u pozvánky pro koordinátora ORP.".into()
        }
        NodeError::BadRelayGrant => {
            "Toto není povolení pro přenosový uzel KrizLink (KRZRELAY2…); zkontrolujte, že je celé."
                .into()
        }
        NodeError::OldRelayGrant => {
            "Toto povolení pro přenosový uzel je ze starší verze KrizLinku a nenese seznam členů; požádejte předsedu nebo tajemníka štábu o nové."
                .into()
        }
        NodeError::MemberList(_) => {
            "Podepsaný seznam členů prostoru nelze vydat ani přijmout (příliš mnoho zařízení nebo neplatný podpis); obraťte se na správce."
                .into()
        }
        NodeError::GrantForAnotherDevice => {
            "Toto povolení pro přenosový uzel bylo vydáno pro jiné zařízení.".into()
        }
    }
}

/// The sentence for a refused record write (the engine's write path).
pub fn write_cs(e: &WriteError) -> String {
    match e {
        WriteError::Form(errors) => form_cs(errors),
        WriteError::BadReference => "Neplatný identifikátor záznamu.".into(),
        WriteError::MissingReference { kind } => {
            format!("Odkazovaný záznam ({}) v prostoru není.", kind_cs(*kind))
        }
        WriteError::NoSuchRecord { kind } => {
            format!("Záznam ({}) v tomto prostoru neexistuje.", kind_cs(*kind))
        }
        WriteError::TooManyVersions => {
            "Záznam má příliš mnoho souběžných verzí pole; obraťte se na správce.".into()
        }
        WriteError::NothingChanged => "Nic se nezměnilo.".into(),
        WriteError::EmptyComment => "Komentář nesmí být prázdný.".into(),
        WriteError::Node(e) => cs(e),
    }
}

fn invite_cs(e: &krizlink_core::engine::invite::InviteError) -> &'static str {
    use krizlink_core::engine::invite::InviteError as I;
    match e {
        I::Malformed(_) => {
            "kód není úplný nebo není od KrizLinku (zkontrolujte, že je zkopírovaný celý)"
        }
        I::UnknownInvite => "tento počítač takovou pozvánku nevytvořil",
        I::Used => "pozvánka už byla použita; požádejte o novou",
        I::Expired(_) => "platnost pozvánky vypršela; požádejte o novou",
        I::BadProof => "žádost neprokazuje znalost kódu pozvánky",
        I::BadSignature => "podpis nesouhlasí",
        I::NotPending => {
            "tento počítač o vstup s touto pozvánkou nežádal; nejprve zadejte kód pozvánky"
        }
        I::AlreadyMember => "tento počítač už je členem prostoru",
        I::Unwrap => "klíč prostoru nelze rozbalit",
    }
}

/// The first form problem as a sentence naming the field (the UI shows each next to its field).
pub fn form_cs(errors: &[FieldError]) -> String {
    match errors.first() {
        Some(e) => format!("Pole „{}“: {}", e.field, e.problem.cs()),
        None => "Formulář není vyplněn správně.".into(),
    }
}

/// An exercise refusal as one Czech sentence (a node error through [`cs`]).
pub fn exercise_cs(e: &ExerciseError) -> String {
    match e {
        ExerciseError::Node(e) => cs(e),
        other => other.explain_cs(),
    }
}
