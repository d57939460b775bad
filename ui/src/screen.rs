//! The main screens, their titles, ids and what each shows of a space.

use krizlink_core::snapshot::Wants;

use crate::i18n::T;

/// The main screens, in the order of their shortcuts (Alt+1 ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Board,
    Tasks,
    Reports,
    Journal,
    Requests,
    Incidents,
    Contacts,
    Members,
    Network,
    /// The drill screen (cvičení): in an exercise space only, so not among [`Screen::ALL`]
    /// (Alt+0 opens it).
    Exercise,
}

impl Screen {
    pub const ALL: [Screen; 9] = [
        Screen::Board,
        Screen::Tasks,
        Screen::Reports,
        Screen::Journal,
        Screen::Requests,
        Screen::Incidents,
        Screen::Contacts,
        Screen::Members,
        Screen::Network,
    ];

    pub fn title(self) -> T {
        match self {
            Screen::Board => T::Board,
            Screen::Tasks => T::Tasks,
            Screen::Reports => T::Reports,
            Screen::Journal => T::Journal,
            Screen::Requests => T::Requests,
            Screen::Incidents => T::Incidents,
            Screen::Contacts => T::Contacts,
            Screen::Members => T::Members,
            Screen::Network => T::Network,
            Screen::Exercise => T::Exercise,
        }
    }

    /// What the screen shows of a space.
    pub fn wants(self) -> Wants {
        let none = Wants::default();
        match self {
            Screen::Board => Wants {
                board: true,
                ..none
            },
            Screen::Tasks => Wants {
                tasks: true,
                ..none
            },
            Screen::Reports => Wants {
                reports: true,
                ..none
            },
            Screen::Journal => Wants {
                journal: true,
                ..none
            },
            Screen::Requests => Wants {
                requests: true,
                ..none
            },
            Screen::Incidents => Wants {
                incidents: true,
                ..none
            },
            Screen::Contacts => Wants {
                contacts: true,
                ..none
            },
            Screen::Members | Screen::Network | Screen::Exercise => none,
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Screen::Board => "board",
            Screen::Tasks => "tasks",
            Screen::Reports => "reports",
            Screen::Journal => "journal",
            Screen::Requests => "requests",
            Screen::Incidents => "incidents",
            Screen::Contacts => "contacts",
            Screen::Members => "members",
            Screen::Network => "network",
            Screen::Exercise => "exercise",
        }
    }
}
