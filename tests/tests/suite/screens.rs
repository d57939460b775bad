//! The screenshot of every main screen, in the light and the dark theme, of a space filled
//! through the real CLI (`target/e2e-screenshots/`; `scripts/update-screens.sh` copies them to
//! docs/screens/). Runs with the other end-to-end tests, one app at a time (`e2e::TURN`).

use serde_json::json;

use crate::e2e::{at, unlock, Desktop, PASSPHRASE, SHORT, TURN};

/// Fills a space through the real CLI: incidents, tasks (one overdue), reports from two ORPs,
/// journal entries, requests in several states, contacts.
fn seed(d: &Desktop) {
    d.node(&["init", "--name", "Jana Nováková"]);
    let space = d.node(&["space", "create", "Krizový štáb Zlínského kraje"]);
    let sp = ["--space", space.as_str()];
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&sp);
        d.node(&all)
    };
    run(&[
        "incident",
        "add",
        "--title",
        "Povodeň na Bečvě",
        "--kind",
        "flood",
        "--level",
        "spa3",
        "--place",
        "Vsetín, Valašské Meziříčí",
        "--start",
        &at(-600),
        "--municipality",
        "Jablůnka",
        "--municipality",
        "Vsetín",
    ]);
    run(&[
        "incident",
        "add",
        "--title",
        "Výpadek elektřiny Rožnovsko",
        "--kind",
        "power-outage",
        "--level",
        "state-of-danger",
        "--place",
        "Rožnov pod Radhoštěm",
    ]);
    let t1 = run(&[
        "task",
        "add",
        "--title",
        "Zajistit 2000 protipovodňových pytlů",
        "--assignee",
        "ORP Vsetín",
        "--due",
        &at(-90),
        "--priority",
        "critical",
        "--number",
        "Ú-2026-014",
    ]);
    let t2 = run(&[
        "task",
        "add",
        "--title",
        "Připravit evakuační autobusy pro Jablůnku",
        "--assignee",
        "HZS Zlínského kraje",
        "--due",
        &at(180),
        "--priority",
        "high",
    ]);
    run(&[
        "task",
        "add",
        "--title",
        "Ověřit ubytovací kapacity v tělocvičnách",
        "--assignee",
        "ORP Valašské Meziříčí",
        "--due",
        &at(600),
    ]);
    let t4 = run(&[
        "task",
        "add",
        "--title",
        "Informovat obyvatele přes rozhlas",
        "--assignee",
        "starosta Jablůnky",
        "--priority",
        "normal",
    ]);
    run(&["task", "status", &t1, "accepted"]);
    run(&["task", "status", &t2, "in-progress"]);
    run(&[
        "task",
        "status",
        &t4,
        "done",
        "--note",
        "Hlášení odvysíláno třikrát.",
    ]);
    run(&[
        "task",
        "comment",
        &t1,
        "Pytle jsou ve skladu HZS Vsetín, odvoz v 16:00.",
    ]);
    run(&[
        "sitrep",
        "add",
        "--sender",
        "ORP Vsetín",
        "--as-of",
        &at(-120),
        "--number",
        "3",
        "--recipient",
        "KŠ Zlínského kraje",
        "--situation",
        "Bečva kulminuje ve Vsetíně, zaplaveny ulice u nábřeží.",
        "--evacuated",
        "140",
        "--injured",
        "2",
        "--measures",
        "Evakuace části Jablůnky, uzavřena lávka.",
        "--prepared-by",
        "Ing. Karel Novák",
    ]);
    run(&[
        "sitrep",
        "add",
        "--sender",
        "ORP Valašské Meziříčí",
        "--as-of",
        &at(-60),
        "--number",
        "1",
        "--situation",
        "Hladina stoupá, 2. SPA vyhlášen v 10:00.",
        "--evacuated",
        "25",
    ]);
    run(&[
        "journal",
        "add",
        "--kind",
        "phone-call",
        "--text",
        "Volal starosta Jablůnky: voda v obci, žádá pytle.",
        "--event-time",
        &at(-200),
    ]);
    run(&[
        "journal",
        "add",
        "--kind",
        "decision",
        "--text",
        "Předseda štábu rozhodl o evakuaci části Jablůnky.",
        "--event-time",
        &at(-150),
    ]);
    run(&[
        "journal",
        "add",
        "--kind",
        "incoming-message",
        "--text",
        "ČHMÚ: výstraha před povodní, 3. SPA na Bečvě.",
    ]);
    let r1 = run(&[
        "request",
        "add",
        "--requester",
        "ORP Vsetín",
        "--item",
        "protipovodňové pytle",
        "--quantity",
        "2000",
        "--unit",
        "ks",
        "--needed-by",
        &at(120),
        "--priority",
        "critical",
        "--reason",
        "Ochrana zástavby u nábřeží.",
    ]);
    run(&[
        "request",
        "add",
        "--requester",
        "ORP Valašské Meziříčí",
        "--item",
        "elektrocentrály",
        "--quantity",
        "3",
        "--unit",
        "ks",
        "--priority",
        "high",
    ]);
    run(&["request", "status", &r1, "approved"]);
    run(&[
        "contact",
        "add",
        "--name",
        "Ing. Karel Novák",
        "--function",
        "vedoucí krizového řízení",
        "--organization",
        "MěÚ Vsetín",
        "--phone",
        "+420 571 491 111",
        "--radio",
        "VSETÍN 1",
    ]);
    // The staff: an ORP coordinator and a secretary joined offline, and a lost laptop removed
    // (the members screen shows roles, the ORP, the removed device and key epoch 1).
    let join = |name: &str, role: &str, orp: Option<&str>| {
        let dir = d.data.path().join(name.replace(' ', "-"));
        krizlink_tests::staff::ok(&dir, &["init", "--name", name]);
        let mut args = vec!["invite", "create", "--role", role];
        if let Some(orp) = orp {
            args.extend(["--orp", orp]);
        }
        let code = run(&args);
        let request = krizlink_tests::staff::ok(&dir, &["join", &code, "--offline"]);
        let welcome = d.node(&["invite", "accept", &request]);
        krizlink_tests::staff::ok(&dir, &["join", "--welcome", &welcome]);
    };
    // A drill beside the real staff: every screen of it says CVIČENÍ.
    let drill = d.node(&[
        "space",
        "create",
        "Cvičení Povodeň Zlínsko 2026",
        "--exercise",
    ]);
    d.node(&[
        "task",
        "add",
        "--space",
        &drill,
        "--title",
        "Inject 1: ČHMÚ vydal výstrahu",
    ]);
    // The sample scenario, started and jumped to inject 8 (T+00:45): the app releases 1 to 8
    // on its timer once unlocked (this identity founded the drill, so it is exercise control).
    d.node(&["exercise", "import", "--space", &drill, "--sample"]);
    d.node(&["exercise", "start", "--space", &drill]);
    d.node(&["exercise", "jump", "--space", &drill, "--inject", "8"]);
    join("Václav Koordinátor", "orp_coordinator", Some("Vsetín"));
    // The ORP coordinator plays in the drill too: the injects for ORP Vsetín and for everyone
    // have a target that has not got them yet (its laptop is off).
    let vaclav = d.data.path().join("Václav-Koordinátor");
    let code = d.node(&[
        "invite",
        "create",
        "--space",
        &drill,
        "--role",
        "orp_coordinator",
        "--orp",
        "Vsetín",
    ]);
    let request = krizlink_tests::staff::ok(&vaclav, &["join", &code, "--offline"]);
    let welcome = d.node(&["invite", "accept", &request]);
    krizlink_tests::staff::ok(&vaclav, &["join", "--welcome", &welcome]);
    join("Hana Tajemnice", "secretary", None);
    join("Eva Ztracená", "member", None);
    run(&["member", "remove", "Eva Ztracená"]);
    run(&[
        "contact",
        "add",
        "--name",
        "plk. Marie Horáková",
        "--function",
        "operační důstojník",
        "--organization",
        "HZS Zlínského kraje",
        "--phone",
        "+420 950 670 111",
        "--data-box",
        "xnaa8xy",
    ]);
    seed_player_drill(d);
    // A drill with no scenario yet: its screen offers the sample one.
    d.node(&["space", "create", EMPTY_DRILL, "--exercise"]);
}

/// A drill of the app's identity with no scenario yet.
const EMPTY_DRILL: &str = "Cvičení Nácvik štábu";

/// The name of the drill in which the app's identity is a player.
const PLAYER_DRILL: &str = "Cvičení Sesuvy Vsetínsko 2026";

/// A second drill, led from another laptop, where the app's identity is a player (the chair of
/// the exercised staff): the leader serves, the identity joins over the network, the leader
/// imports the sample, starts and jumps to inject 3; the identity's own serving peer takes the
/// released injects in before the app opens.
fn seed_player_drill(d: &Desktop) {
    use krizlink_tests::staff;
    let leader = d.data.path().join("Řídící-cvičení");
    staff::ok(&leader, &["init", "--name", "Petr Řídící"]);
    let drill = staff::ok(&leader, &["space", "create", PLAYER_DRILL, "--exercise"]);
    let leading = staff::serve(&leader, &[]);
    let code = staff::ok(
        &leader,
        &["invite", "create", "--space", &drill, "--role", "chair"],
    );
    d.node(&["join", &code]);
    let sp = ["--space", drill.as_str()];
    for args in [
        &["exercise", "import", "--sample"][..],
        &["exercise", "start"],
        &["exercise", "jump", "--inject", "3"],
    ] {
        let mut all = args.to_vec();
        all.extend_from_slice(&sp);
        staff::ok(&leader, &all);
    }
    // The app's data dir is sealed with the e2e passphrase (`env` sets it for the node).
    let me = d.data.path().join("krizlink");
    let passphrase = format!("KRIZLINK_PASSPHRASE={PASSPHRASE}");
    let playing = staff::serve_under(
        &["env", &passphrase],
        &me,
        "/ip4/127.0.0.1/tcp/0",
        &["--peer", &leading.addr],
    );
    staff::wait_until(
        "the player holds the first three released injects",
        std::time::Duration::from_secs(60),
        || {
            let status = d.node(&["exercise", "status", "--space", &drill, "--json"]);
            serde_json::from_str::<serde_json::Value>(&status)
                .ok()
                .and_then(|v| v["released"].as_array().map(Vec::len))
                .is_some_and(|n| n >= 3)
        },
    );
    playing.stop();
    leading.stop();
}

#[test]
fn e2e_screenshot_of_every_main_screen_light_and_dark() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = Desktop::start("e2e-screens");
    seed(&d);
    let s = d.open();
    d.shot("unlock-light");
    unlock(&s);
    s.wait_text("#board", "Povodeň na Bečvě", SHORT).unwrap();
    s.wait_text("#overdue-count", "Po termínu: 1", SHORT)
        .unwrap();
    for theme in ["light", "dark"] {
        if theme == "dark" {
            s.click("#theme").unwrap();
            s.wait(".app.theme-dark", SHORT).unwrap();
        }
        for (nav, ready, name) in [
            ("#nav-board", "#board", "board"),
            ("#nav-tasks", "#task-list", "tasks"),
            ("#nav-reports", "#report-form", "reports"),
            ("#nav-journal", "#journal-list", "journal"),
            ("#nav-requests", "#request-list", "requests"),
            ("#nav-incidents", "#incident-list", "incidents"),
            ("#nav-contacts", "#contact-list", "contacts"),
            ("#nav-members", "#member-list", "members"),
            ("#nav-members", "#invite-form", "invites"),
            ("#nav-network", "#network-panel", "network"),
        ] {
            s.click(nav).unwrap();
            s.wait(ready, SHORT).unwrap();
            match name {
                "tasks" => {
                    s.click("#task-list tbody td.task-title").unwrap();
                    s.wait("#task-detail", SHORT).unwrap();
                    s.wait_text("#task-deliveries-summary", "Doručeno", SHORT)
                        .unwrap();
                    if theme == "light" {
                        // Who holds the task's latest version, each by its own receipt.
                        s.execute(
                            "document.getElementById('task-deliveries').scrollIntoView();",
                            json!([]),
                        )
                        .unwrap();
                        d.shot("task-deliveries-light");
                        s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
                    }
                }
                "reports" => {
                    s.click(".report-row button").unwrap();
                    s.wait_text("#print-view", "Stav k", SHORT).unwrap();
                }
                "members" => {
                    s.wait_text("#member-list", "koordinátor ORP", SHORT)
                        .unwrap();
                    s.wait_text("#member-list", "Vsetín", SHORT).unwrap();
                    s.wait_text("#member-list", "odebrán", SHORT).unwrap();
                    s.wait_text("#member-epoch", "1", SHORT).unwrap();
                    s.wait_text("#key-progress", "Nový klíč (epocha 1)", SHORT)
                        .unwrap();
                    if theme == "light" {
                        // A role change asks for confirmation first.
                        let id = std::fs::read_to_string(
                            d.data.path().join("Václav-Koordinátor").join("device.id"),
                        )
                        .unwrap();
                        let short = &id.trim()[..8];
                        s.click(&format!("#member-change-{short}")).unwrap();
                        s.click(&format!("#member-continue-{short}")).unwrap();
                        s.wait_text(&format!("#member-confirm-{short}"), "Opravdu", SHORT)
                            .unwrap();
                        d.shot("member-confirm-light");
                        s.click(&format!("#member-confirm-no-{short}")).unwrap();
                        // So does revoking a device (a lost laptop).
                        s.click(&format!("#member-revoke-{short}")).unwrap();
                        s.wait_text(
                            &format!("#member-revoke-confirm-{short}"),
                            "Opravdu odebrat",
                            SHORT,
                        )
                        .unwrap();
                        d.shot("member-revoke-light");
                        s.click(&format!("#member-revoke-no-{short}")).unwrap();
                    }
                }
                "invites" => {
                    s.click("#invite-submit").unwrap();
                    s.wait_text("#invite-code", "KRZ-", SHORT).unwrap();
                    s.wait("#invite-qr", SHORT).unwrap();
                }
                _ => {}
            }
            d.shot(&format!("{name}-{theme}"));
        }
        // The projector mode scales the whole page through a class on <html> (the content
        // security policy refuses inline style attributes): the root font grows by half.
        let root_px = |s: &krizlink_tests::webdriver::Session| -> f64 {
            let size = s
                .execute(
                    "return getComputedStyle(document.documentElement).fontSize;",
                    json!([]),
                )
                .unwrap();
            size.as_str()
                .and_then(|t| t.trim_end_matches("px").parse().ok())
                .unwrap_or_else(|| panic!("a font size in px: {size}"))
        };
        let normal = root_px(&s);
        s.click("#board-mode").unwrap();
        s.wait("main.board-main", SHORT).unwrap();
        let projected = root_px(&s);
        assert!(
            (projected - normal * 1.5).abs() < 0.5,
            "the projector mode scales the page: {normal} px -> {projected} px"
        );
        d.shot(&format!("projector-{theme}"));
        s.execute(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', code: 'Escape', bubbles: true}));",
            json!([]),
        )
        .unwrap();
        s.wait("nav.tabs", SHORT).unwrap();
        s.click("#help").unwrap();
        s.wait("#help-dialog", SHORT).unwrap();
        d.shot(&format!("help-{theme}"));
        s.click("#help-dialog button").unwrap();
    }
    // The drill: the banner on every screen, and the space picker says so.
    let select = |name: &str| {
        s.execute(
            "const sel = document.getElementById('space-select'); \
             const o = [...sel.options].find(o => o.text.includes(arguments[0])); \
             sel.value = o.value; sel.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([name]),
        )
        .unwrap();
    };
    select("Cvičení Povodeň");
    s.wait_text("#exercise-banner", "CVIČENÍ", SHORT).unwrap();
    s.click("#nav-tasks").unwrap();
    s.wait_text("#task-list", "Inject 1", SHORT).unwrap();
    s.wait("#exercise-banner", SHORT).unwrap();
    d.shot("exercise-dark");
    // Exercise control: the running clock, the next injects, the released ones with their three
    // times, the stop asks first, an ad-hoc inject is released at once.
    s.click("#nav-exercise").unwrap();
    s.wait_text("#exercise-phase", "běží", SHORT).unwrap();
    s.wait_text("#exercise-time", "T+0", SHORT).unwrap();
    s.wait_text("#exercise-next", "T+0", SHORT).unwrap();
    s.wait_text("#exercise-released", "Výstraha ČHMÚ", SHORT)
        .unwrap();
    s.wait_text("#exercise-released", "plán", SHORT).unwrap();
    s.wait_text("#exercise-scenario", "56", SHORT).unwrap();
    s.click("#clock-stop").unwrap();
    s.wait_text("#clock-stop-confirm", "Opravdu ukončit", SHORT)
        .unwrap();
    s.click("#clock-stop-no").unwrap();
    s.click("#clock-pause").unwrap();
    s.wait_text("#exercise-phase", "přerušeno", SHORT).unwrap();
    s.click("#clock-resume").unwrap();
    s.wait_text("#exercise-phase", "běží", SHORT).unwrap();
    // A jump to inject 10 (T+00:50): the app's timer releases it, the screen shows it.
    s.type_into("#f-jump", "10").unwrap();
    s.click("#jump-submit").unwrap();
    s.wait_text("#exercise-time", "T+00:5", SHORT).unwrap();
    s.wait_text("#exercise-released", "Zubří", SHORT).unwrap();
    s.clear("#f-to").unwrap();
    s.type_into("#f-to", "ORP Vsetín").unwrap();
    s.clear("#f-from").unwrap();
    s.type_into("#f-from", "starosta obce Jablůnka").unwrap();
    s.type_into("#f-subject", "Jablůnka: voda v mateřské škole")
        .unwrap();
    s.type_into(
        "#f-message",
        "Voda vnikla do mateřské školy, děti jsou v patře. Potřebujeme odvoz.",
    )
    .unwrap();
    s.click("#adhoc-submit").unwrap();
    s.wait_text("#exercise-released", "mateřské škole", SHORT)
        .unwrap();
    s.wait_text("#exercise-released", "mimořádný", SHORT)
        .unwrap();
    s.wait_text("#exercise-released", "Václav Koordinátor zatím ne", SHORT)
        .unwrap();
    s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
    d.shot("exercise-control-dark");
    s.click("#theme").unwrap();
    s.wait(".app.theme-light", SHORT).unwrap();
    s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
    d.shot("exercise-control-light");
    s.execute(
        "document.getElementById('exercise-released').scrollIntoView();",
        json!([]),
    )
    .unwrap();
    d.shot("exercise-released-light");
    s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
    // A player sees the released injects only, newest first, never what comes next.
    select(PLAYER_DRILL);
    s.wait_text("#exercise-banner", "CVIČENÍ", SHORT).unwrap();
    s.click("#nav-exercise").unwrap();
    s.wait_text(
        "#exercise-released",
        "Návrh na svolání krizového štábu kraje",
        SHORT,
    )
    .unwrap();
    s.wait_text("#exercise-released", "Výstraha ČHMÚ", SHORT)
        .unwrap();
    assert!(
        s.find("#exercise-next").unwrap().is_none(),
        "a player never sees the next injects"
    );
    assert!(
        s.find("#clock-start, #clock-pause, #exercise-adhoc")
            .unwrap()
            .is_none(),
        "a player has no exercise control"
    );
    d.shot("exercise-player-light");
    s.click("#theme").unwrap();
    s.wait(".app.theme-dark", SHORT).unwrap();
    d.shot("exercise-player-dark");
    // An empty drill: the sample scenario is one click away, then the clock starts.
    select(EMPTY_DRILL);
    s.click("#nav-exercise").unwrap();
    s.wait_text("#exercise-phase", "nezahájeno", SHORT).unwrap();
    s.click("#load-sample").unwrap();
    s.wait_text("#exercise-scenario", "56", SHORT).unwrap();
    s.wait_text("#exercise-next", "Výstraha ČHMÚ", SHORT)
        .unwrap();
    s.click("#clock-start").unwrap();
    s.wait_text("#exercise-phase", "běží", SHORT).unwrap();
    s.wait_text("#exercise-released", "Výstraha ČHMÚ", SHORT)
        .unwrap();
    select("Krizový štáb Zlínského kraje");
    s.wait_text("#board", "Povodeň na Bečvě", SHORT).unwrap();
    assert!(
        s.find("#exercise-banner").unwrap().is_none(),
        "a real space shows no drill banner"
    );
    s.click("#lang").unwrap();
    s.click("#nav-board").unwrap();
    s.wait_text("#board", "Active incidents", SHORT).unwrap();
    d.shot("board-english-dark");
    s.close().unwrap();
}
