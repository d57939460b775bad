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
    seed_drill_evaluation(d, &drill);
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

/// What the evaluation of the leader's drill shows: the leader's serving node releases
/// injects 1 to 8 (the clock stands at T+00:45), the ORP coordinator answers inject 4 (for ORP
/// Vsetín) with a situation report linked to it (`--answers 4`), and the leader, who reads the
/// scenario like an evaluator, records two observations, one with a corrective action.
fn seed_drill_evaluation(d: &Desktop, drill: &str) {
    use krizlink_tests::staff;
    let me = d.data.path().join("krizlink");
    let vaclav = d.data.path().join("Václav-Koordinátor");
    let passphrase = format!("KRIZLINK_PASSPHRASE={PASSPHRASE}");
    let leading = staff::serve_under(&["env", &passphrase], &me, "/ip4/127.0.0.1/tcp/0", &[]);
    let playing = staff::serve(&vaclav, &["--peer", &leading.addr]);
    // Until the first sync the joined replica does not know yet that the space is a drill.
    let released = |dir: &std::path::Path| -> Vec<u64> {
        let out = staff::node(dir, &["exercise", "status", "--space", drill, "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| {
                v["released"]
                    .as_array()
                    .map(|l| l.iter().filter_map(|r| r["number"].as_u64()).collect())
            })
            .unwrap_or_default()
    };
    staff::wait_until(
        "the ORP coordinator holds the released inject 4",
        std::time::Duration::from_secs(60),
        || released(&vaclav).contains(&4),
    );
    staff::ok(
        &vaclav,
        &[
            "sitrep",
            "add",
            "--space",
            drill,
            "--answers",
            "4",
            "--sender",
            "ORP Vsetín",
            "--as-of",
            &at(0),
            "--situation",
            "Huslenky: Kychová vybřežila, 5 domů zatopeno, silnice II/487 uzavřena.",
            "--measures",
            "Na místě JSDH Huslenky, pytle z HZS Vsetín.",
        ],
    );
    staff::wait_until(
        "the leader holds the ORP coordinator's answer",
        std::time::Duration::from_secs(60),
        || {
            d.node(&["sitrep", "list", "--space", drill, "--json"])
                .contains("Kychová")
        },
    );
    playing.stop();
    leading.stop();
    d.node(&[
        "exercise",
        "observe",
        "--space",
        drill,
        "--inject",
        "4",
        "--met",
        "yes",
        "--text",
        "ORP Vsetín poslala situační zprávu s opatřeními.",
    ]);
    d.node(&[
        "exercise",
        "observe",
        "--space",
        drill,
        "--inject",
        "3",
        "--met",
        "no",
        "--text",
        "Návrh na svolání štábu zůstal bez rozhodnutí.",
        "--corrective",
        "Doplnit do plánu postup svolání krizového štábu",
        "--owner",
        "tajemník štábu",
        "--due",
        &at(14 * 24 * 60),
    ]);
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
                    if theme == "light" {
                        // The report alone as the engine's PDF, in the documents folder.
                        s.click("#save-pdf").unwrap();
                        s.wait_text("#saved-path", "Uloženo do:", SHORT).unwrap();
                        let shown = s.text("#saved-path").unwrap();
                        let path = shown.trim_start_matches("Uloženo do:").trim().to_owned();
                        assert!(path.ends_with(".pdf"), "{shown}");
                        let out = std::process::Command::new("pdftotext")
                            .args(["-layout", &path, "-"])
                            .output()
                            .expect("pdftotext runs");
                        let text = String::from_utf8_lossy(&out.stdout);
                        assert!(
                            text.contains("Stav k") && !text.contains("CVIČENÍ"),
                            "a real space's report, not marked CVIČENÍ:\n{text}"
                        );
                    }
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
    evaluation(&d, &s);
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
    // A player answers inject 3 with a task linked to it (the evaluation's response).
    s.click("#answer-task-3").unwrap();
    s.wait("#answer-form-3", SHORT).unwrap();
    s.type_into("#f-ans_title", "Svolat krizový štáb kraje na 16:00")
        .unwrap();
    s.type_into("#f-ans_assignees", "tajemník štábu").unwrap();
    d.shot("exercise-answer-dark");
    s.click("#answer-submit").unwrap();
    s.click("#nav-tasks").unwrap();
    s.wait_text("#task-list", "Svolat krizový štáb kraje", SHORT)
        .unwrap();
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

/// The leader's evaluation of the drill: the hot wash, the expected actions with the ORP
/// coordinator's answer and the observations, an observation written in the form, and
/// "Uložit PDF" saving the engine's PDF to the documents folder (light, then dark, back to
/// light).
fn evaluation(d: &Desktop, s: &krizlink_tests::webdriver::Session) {
    s.click("#exercise-view-evaluation").unwrap();
    s.wait_text("#evaluation-hotwash", "Vydáno", SHORT).unwrap();
    s.wait_text("#evaluation-expected", "Huslenky", SHORT)
        .unwrap();
    s.wait_text("#evaluation-expected", "Václav Koordinátor", SHORT)
        .unwrap();
    s.wait_text("#evaluation-expected", "ano (hodnotitel)", SHORT)
        .unwrap();
    s.wait_text("#evaluation-times", "ORP Vsetín", SHORT)
        .unwrap();
    s.wait_text("#evaluation-plan", "postup svolání", SHORT)
        .unwrap();
    s.wait_text("#evaluation-timeline", "Kychová", SHORT)
        .unwrap();
    d.shot("evaluation-light");
    // An observation on inject 7 with a corrective action.
    s.execute(
        "const sel = document.getElementById('f-obs_inject'); sel.value = '7'; \
         sel.dispatchEvent(new Event('change', {bubbles: true})); \
         const met = document.getElementById('f-obs_met'); met.value = 'no'; \
         met.dispatchEvent(new Event('change', {bubbles: true})); \
         document.getElementById('observation-form').scrollIntoView();",
        json!([]),
    )
    .unwrap();
    s.type_into(
        "#f-obs_text",
        "ORP Vsetín na překročení 2. SPA nereagovala, chyběla informace obcím.",
    )
    .unwrap();
    s.type_into("#f-obs_action", "Nacvičit varování obcí při 2. SPA")
        .unwrap();
    s.type_into("#f-obs_owner", "ORP Vsetín").unwrap();
    s.type_into("#f-obs_due", "+72 h").unwrap();
    d.shot("observation-light");
    s.click("#observation-submit").unwrap();
    s.wait_text("#evaluation-plan", "Nacvičit varování obcí", SHORT)
        .unwrap();
    s.wait_text("#evaluation-expected", "chyběla informace obcím", SHORT)
        .unwrap();
    // "Uložit PDF": the engine's PDF, in the documents folder the app was given.
    s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
    s.click("#save-pdf").unwrap();
    s.wait_text("#saved-path", "Uloženo do:", SHORT).unwrap();
    let shown = s.text("#saved-path").unwrap();
    let path = std::path::PathBuf::from(shown.trim_start_matches("Uloženo do:").trim());
    let folder = d
        .data
        .path()
        .join("home")
        .join("documents")
        .join("KrizLink");
    assert_eq!(path.parent(), Some(folder.as_path()), "saved in {shown}");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(
        name.starts_with("Vyhodnocení cvičení") && name.ends_with(".pdf"),
        "the file is named after the document: {name}"
    );
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext reads {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "CVIČENÍ",
        "Vyhodnocení cvičení",
        "Huslenky",
        "Nacvičit varování obcí",
    ] {
        assert!(
            text.contains(expected),
            "the PDF says {expected:?}:\n{text}"
        );
    }
    // A second save never overwrites the first.
    s.click("#save-csv").unwrap();
    s.wait_text("#saved-path", ".csv", SHORT).unwrap();
    let csv = std::fs::read_to_string(folder.join(name.replace(".pdf", ".csv"))).unwrap();
    assert!(csv.contains("CVIČENÍ"), "the CSV is marked: {csv}");
    s.click("#save-pdf").unwrap();
    s.wait_text("#saved-path", "(2).pdf", SHORT).unwrap();
    s.click("#theme").unwrap();
    s.wait(".app.theme-dark", SHORT).unwrap();
    s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
    d.shot("evaluation-dark");
    s.execute(
        "document.getElementById('observation-form').scrollIntoView();",
        json!([]),
    )
    .unwrap();
    d.shot("observation-dark");
    s.click("#theme").unwrap();
    s.wait(".app.theme-light", SHORT).unwrap();
    s.execute("window.scrollTo(0, 0);", json!([])).unwrap();
    s.click("#exercise-view-main").unwrap();
    s.wait("#exercise-clock", SHORT).unwrap();
}
