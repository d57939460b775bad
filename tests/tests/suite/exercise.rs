//! Drills (cvičení) with real `krizlink-node serve` processes on 127.0.0.1: the sample scenario
//! run by a leader for the region's staff and one ORP; injects released on the replicated clock
//! reach their targets, an offline ORP's on reconnect, with scheduled, released and reached
//! times; players can neither list nor hold unreleased injects; every export is marked CVIČENÍ.

use std::path::{Path, PathBuf};
use std::time::Duration;

use krizlink_tests::staff::*;
use krizlink_tests::TempDir;

const WAIT: Duration = Duration::from_secs(30);

fn status(dir: &Path, space: &str) -> serde_json::Value {
    json(dir, &["exercise", "status", "--space", space, "--json"])
}

fn released(dir: &Path, space: &str, number: u64) -> Option<serde_json::Value> {
    status(dir, space)["released"]
        .as_array()?
        .iter()
        .find(|r| r["number"] == number)
        .cloned()
}

fn reached_by(release: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
    release["reached"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
}

/// Every file under `dir` searched for `text` as UTF-8, UTF-16LE and base64.
fn files_holding(dir: &Path, text: &str) -> Vec<PathBuf> {
    use base64_like::encode;
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let b64 = encode(text.as_bytes());
    let needles: Vec<Vec<u8>> = vec![text.as_bytes().to_vec(), utf16, b64.into_bytes()];
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if needles
                    .iter()
                    .any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
                {
                    found.push(path);
                }
            }
        }
    }
    found
}

/// Standard base64 without padding (enough to find an encoded text).
mod base64_like {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[test]
fn the_sample_drill_reaches_region_and_an_offline_orp_with_all_three_times() {
    let root = TempDir::new("exercise-sample");
    let leader = root.path().join("Řídící cvičení");
    ok(&leader, &["init", "--name", "Řídící cvičení"]);
    let space = ok(
        &leader,
        &["space", "create", "Cvičení Povodeň 2026", "--exercise"],
    );
    let leader_serving = serve(&leader, &[]);
    let region = joined_as(&root, "Hejtman (hráč)", &leader, &space, "chair", None);
    let orp = joined_as(
        &root,
        "Koordinátor Vsetín",
        &leader,
        &space,
        "orp_coordinator",
        Some("Vsetín"),
    );
    let imported = ok(
        &leader,
        &["exercise", "import", "--space", &space, "--sample"],
    );
    assert!(imported.starts_with("=== CVIČENÍ"), "{imported}");
    assert!(imported.contains("56 vstupů"), "{imported}");
    let scenario = json(
        &leader,
        &["exercise", "export", "--space", &space, "--format", "json"],
    );
    assert_eq!(scenario["exercise"], true);
    let injects = scenario["injects"].as_array().expect("injects").clone();
    // The first timed inject for ORP Vsetín after T+00:00, and the last of the drill.
    let for_vsetin = injects
        .iter()
        .find(|i| i["to"] == "ORP Vsetín" && i["time"] != "T+00:00" && i["time"] != "")
        .expect("an inject for ORP Vsetín");
    let number: u64 = for_vsetin["number"].as_str().unwrap().parse().unwrap();
    let last = injects.last().expect("a last inject");
    let last_text = last["content"].as_str().unwrap().to_owned();

    // Players cannot list the scenario, and hold none of it readable.
    for player in [&region, &orp] {
        let out = node(
            player,
            &["exercise", "export", "--space", &space, "--format", "csv"],
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("only exercise control"), "{err}");
        assert_eq!(status(player, &space)["next"], serde_json::json!([]));
    }
    let region_serving = serve(&region, &["--peer", &leader_serving.addr]);
    wait_until("the region holds the sealed scenario", WAIT, || {
        state_hash(&region, &space) == state_hash(&leader, &space)
    });
    assert_eq!(files_holding(&region, &last_text), Vec::<PathBuf>::new());
    assert_eq!(
        files_holding(&orp, for_vsetin["content"].as_str().unwrap()),
        Vec::<PathBuf>::new()
    );

    // The clock starts and jumps to the inject for Vsetín; the ORP is offline.
    let started = ok(&leader, &["exercise", "start", "--space", &space]);
    assert!(started.contains("běží"), "{started}");
    ok(
        &leader,
        &[
            "exercise",
            "jump",
            "--space",
            &space,
            "--inject",
            &number.to_string(),
        ],
    );
    wait_until("the inject reaches the region", WAIT, || {
        released(&region, &space, number).is_some()
    });
    let r = released(&leader, &space, number).expect("released");
    assert_eq!(r["scheduled"], for_vsetin["time"]);
    assert_eq!(r["exercise"], true);
    assert!(r["released_at"].is_string());
    let vsetin = reached_by(&r, "Koordinátor Vsetín").expect("the ORP is a target");
    assert!(
        vsetin["at"].is_null(),
        "not reached while offline: {vsetin}"
    );
    // The region's chair is not a target of an inject for ORP Vsetín.
    assert!(reached_by(&r, "Hejtman (hráč)").is_none(), "{r}");

    // The ORP comes online: the inject reaches it, and the leader sees when.
    let orp_serving = serve(&orp, &["--peer", &leader_serving.addr]);
    wait_until(
        "the ORP's receipt of the inject reaches the leader",
        WAIT,
        || {
            released(&leader, &space, number)
                .and_then(|r| reached_by(&r, "Koordinátor Vsetín"))
                .is_some_and(|v| v["at"].is_string())
        },
    );
    let seen = released(&orp, &space, number).expect("the ORP sees the inject");
    assert_eq!(seen["text"], for_vsetin["content"]);
    let text = ok(&leader, &["exercise", "status", "--space", &space]);
    assert!(text.starts_with("=== CVIČENÍ"), "{text}");
    assert!(
        text.contains("Koordinátor Vsetín 20"),
        "reached time shown: {text}"
    );
    // What is not yet released stays unreadable on the players' disks.
    assert_eq!(files_holding(&orp, &last_text), Vec::<PathBuf>::new());

    // The ORP answers the inject with a situation report; a player cannot answer an inject
    // not released yet; the evaluation shows who answered and how fast, per ORP.
    let answer = |inject: &str| {
        node(
            &orp,
            &[
                "sitrep",
                "add",
                "--space",
                &space,
                "--sender",
                "ORP Vsetín",
                "--as-of",
                "2026-12-01T10:00:00+01:00",
                "--situation",
                "Bečva stoupá, 2. SPA vyhlášen.",
                "--answers",
                inject,
            ],
        )
    };
    let out = answer(last["number"].as_str().unwrap());
    assert!(
        !out.status.success(),
        "an unreleased inject cannot be answered"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not been released"));
    let out = answer(&number.to_string());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until(
        "the ORP's answer reaches the leader's evaluation",
        WAIT,
        || {
            json(
                &leader,
                &[
                    "exercise", "evaluate", "--space", &space, "--format", "json",
                ],
            )["by_orp"]
                .as_array()
                .is_some_and(|g| g.iter().any(|g| g["group"] == "ORP Vsetín"))
        },
    );
    let evaluation = json(
        &leader,
        &[
            "exercise", "evaluate", "--space", &space, "--format", "json",
        ],
    );
    assert_eq!(evaluation["exercise"], true);
    let vsetin = evaluation["by_orp"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "ORP Vsetín")
        .unwrap()
        .clone();
    assert_eq!(vsetin["answered"], 1);
    assert!(vsetin["median_ms"].as_i64().unwrap() >= 0);
    let report = root.path().join("vyhodnoceni.csv");
    ok(
        &leader,
        &[
            "exercise",
            "evaluate",
            "--space",
            &space,
            "--format",
            "csv",
            "--out",
            report.to_str().unwrap(),
        ],
    );
    let report = std::fs::read_to_string(&report).expect("the evaluation CSV");
    assert!(report.starts_with("=== CVIČENÍ"), "{report}");
    assert!(report.contains("Doby reakce podle ORP"), "{report}");
    assert!(report.contains("ORP Vsetín;1;"), "{report}");
    // The evaluation as a PDF written by the engine, read back with pdftotext.
    let pdf = root.path().join("vyhodnoceni.pdf");
    ok(
        &leader,
        &[
            "exercise",
            "evaluate",
            "--space",
            &space,
            "--format",
            "pdf",
            "--out",
            pdf.to_str().unwrap(),
        ],
    );
    let text = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CVIČENÍ"), "{text}");
    assert!(
        text.contains("Vyhodnocení cvičení: Cvičení Povodeň 2026"),
        "{text}"
    );
    assert!(text.contains("Doby reakce podle ORP"), "{text}");
    assert!(text.contains("ORP Vsetín"), "{text}");
    assert!(text.contains("Koordinátor Vsetín"), "{text}");
    // Players may not read the evaluation (it names the sealed expected actions).
    let out = node(
        &region,
        &[
            "exercise", "evaluate", "--space", &space, "--format", "json",
        ],
    );
    assert!(!out.status.success());

    // The exports, to files through the serving leader, marked CVIČENÍ.
    let csv = root.path().join("scenar.csv");
    ok(
        &leader,
        &[
            "exercise",
            "export",
            "--space",
            &space,
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
        ],
    );
    let written = std::fs::read_to_string(&csv).expect("the CSV");
    assert!(written.starts_with("=== CVIČENÍ"), "{written}");
    assert!(written.contains("Číslo;Čas;Od;Komu"));

    orp_serving.stop();
    region_serving.stop();
    leader_serving.stop();
}

#[test]
fn a_bad_scenario_row_is_named_by_line_and_column_and_nothing_is_imported() {
    let root = TempDir::new("exercise-bad-row");
    let leader = root.path().join("leader");
    ok(&leader, &["init", "--name", "Řídící"]);
    let space = ok(&leader, &["space", "create", "Cvičení", "--exercise"]);
    let file = root.path().join("msel.csv");
    std::fs::write(
        &file,
        "Číslo;Čas;Od;Komu;Způsob;Zpráva\n1;T+00:00;ČHMÚ;všichni;e-mail;Výstraha\n2;T+0:7x;KOPIS;ORP Zlín;rádio;Hlášení\n",
    )
    .unwrap();
    let out = node(
        &leader,
        &[
            "exercise",
            "import",
            "--space",
            &space,
            file.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3, column 2 (Čas)"), "{err}");
    assert_eq!(status(&leader, &space)["scenario_size"], 0);
    // A real space has no exercise.
    let real = ok(&leader, &["space", "create", "Krizový štáb"]);
    let out = node(&leader, &["exercise", "start", "--space", &real]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an exercise"));
}

#[test]
fn the_drill_goes_on_from_a_second_controller_when_the_leaders_laptop_drops_out() {
    let root = TempDir::new("exercise-deputy");
    let leader = root.path().join("Řídící cvičení");
    ok(&leader, &["init", "--name", "Řídící cvičení"]);
    let space = ok(&leader, &["space", "create", "Cvičení", "--exercise"]);
    let leader_serving = serve(&leader, &[]);
    let deputy = joined_as(
        &root,
        "Zástupce řídícího",
        &leader,
        &space,
        "exercise_leader",
        None,
    );
    let player = joined_as(&root, "Tajemník (hráč)", &leader, &space, "secretary", None);
    let file = root.path().join("msel.csv");
    std::fs::write(
        &file,
        "Číslo;Čas;Od;Komu;Způsob;Zpráva\n\
         1;T+00:00;ČHMÚ;všichni;e-mail;Výstraha před povodní\n\
         2;T+00:01;KOPIS;tajemník štábu;telefonát;Hlášení z Jablůnky\n",
    )
    .unwrap();
    ok(
        &leader,
        &[
            "exercise",
            "import",
            "--space",
            &space,
            file.to_str().unwrap(),
        ],
    );
    let deputy_serving = serve(&deputy, &["--peer", &leader_serving.addr]);
    let player_serving = serve(&player, &["--peer", &deputy_serving.addr]);
    // The deputy received the control key from the leader and reads the scenario.
    wait_until("the deputy reads the scenario", WAIT, || {
        status(&deputy, &space)["scenario_size"] == 2
    });
    ok(&leader, &["exercise", "start", "--space", &space]);
    wait_until("inject 1 reaches the player", WAIT, || {
        released(&player, &space, 1).is_some()
    });
    // The leader's laptop drops out; inject 2 falls due a minute after the start, and the
    // deputy's node releases it (after its stagger), with nobody touching anything.
    leader_serving.kill_9();
    wait_until(
        "inject 2 reaches the player from the deputy",
        Duration::from_secs(90),
        || released(&player, &space, 2).is_some(),
    );
    let r = released(&player, &space, 2).unwrap();
    assert_eq!(r["scheduled"], "T+00:01");
    let deputy_id = std::fs::read_to_string(deputy.join("device.id")).unwrap();
    assert_eq!(r["released_by"].as_str(), Some(deputy_id.trim()), "{r}");
    player_serving.stop();
    deputy_serving.stop();
}
