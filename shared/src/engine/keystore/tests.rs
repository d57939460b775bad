//! Tests of the sealed keystore (the parent module): sealing and opening, wrong passphrases,
//! damaged and edited files, and encodings written by earlier versions.

use super::*;
use std::time::Instant;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krizlink-keystore-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const SEED: [u8; 32] = [0x5e; 32];
const SPACE_KEY: [u8; 32] = [0x6b; 32];
const SPACE_NAME: &str = "Krizovy stab Zlinskeho kraje";

fn contents() -> KeystoreContents {
    let mut c = KeystoreContents::new(&SEED, "Jana Nováková");
    c.spaces.push(SpaceEntry {
        space: SpaceId([1; 16]),
        name: SPACE_NAME.to_owned(),
        role: StaffRole::Secretary,
        founder: DeviceId([3; 32]),
        keys: vec![(0, SpaceKey::from_bytes(SPACE_KEY))],
    });
    c.invites.push(StoredInvite {
        id: [2; 16],
        space: SpaceId([1; 16]),
        role: StaffRole::Observer,
        expires_ms: 1_800_000_000_000,
        secret: Secret32::from_bytes([0x7c; 32]),
        used: false,
        orp: "Vsetín".into(),
    });
    c
}

/// The invites of `c` as formats 1 to 3 wrote them (no ORP).
fn old_invites(c: &KeystoreContents) -> Vec<StoredInviteV3> {
    c.invites
        .iter()
        .map(|i| StoredInviteV3 {
            id: i.id,
            space: i.space,
            role: i.role,
            expires_ms: i.expires_ms,
            secret: Secret32::from_bytes(*i.secret.as_bytes()),
            used: i.used,
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn create_unlock_round_trip_and_no_secret_in_the_file() {
    let dir = temp_dir("round");
    let path = dir.join("keystore.krz");
    let ks = Keystore::create(&path, "heslo štábu", contents(), KdfParams::for_tests()).unwrap();
    assert!(matches!(
        Keystore::create(&path, "x", contents(), KdfParams::for_tests()),
        Err(KeystoreError::AlreadyExists(_))
    ));
    let opened = Keystore::unlock(&path, "heslo štábu").unwrap();
    let c = opened.contents();
    assert_eq!(c.device_seed(), &SEED);
    assert_eq!(c.name(), "Jana Nováková");
    assert_eq!(c.spaces.len(), 1);
    assert_eq!(c.spaces[0].name, SPACE_NAME);
    assert_eq!(c.spaces[0].role, StaffRole::Secretary);
    assert_eq!(
        c.spaces[0].key_for_epoch(0).map(|k| *k.as_bytes()),
        Some(SPACE_KEY)
    );
    assert_eq!(c.invites[0].role, StaffRole::Observer);
    assert!(c.invites[0].secret.matches(&[0x7c; 32]));
    assert_eq!(opened.params(), KdfParams::for_tests());
    drop(ks);

    let file = fs::read(&path).unwrap();
    assert_eq!(&file[..6], MAGIC);
    assert!(!contains(&file, &SEED));
    assert!(!contains(&file, &SPACE_KEY));
    assert!(!contains(&file, &[0x7c; 32]));
    assert!(!contains(&file, SPACE_NAME.as_bytes()));
    assert!(!contains(&file, "Nováková".as_bytes()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_uses_a_fresh_nonce_and_persists_changes() {
    let dir = temp_dir("save");
    let path = dir.join("keystore.krz");
    let mut ks = Keystore::create(&path, "heslo", contents(), KdfParams::for_tests()).unwrap();
    let first = fs::read(&path).unwrap();
    ks.save().unwrap();
    let second = fs::read(&path).unwrap();
    assert_eq!(first[..36], second[..36]);
    assert_ne!(first[36..48], second[36..48], "nonce reused");
    ks.contents_mut().set_name("Petr Svoboda");
    ks.contents_mut().spaces[0]
        .keys
        .push((1, SpaceKey::from_bytes([9; 32])));
    ks.save().unwrap();
    let opened = Keystore::unlock(&path, "heslo").unwrap();
    assert_eq!(opened.contents().name(), "Petr Svoboda");
    assert_eq!(
        opened.contents().spaces[0].current_key().map(|(e, _)| e),
        Some(1)
    );
    // No temp file is left behind.
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keystore.krz")]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_passphrase_missing_and_damaged_files_are_typed_errors() {
    let dir = temp_dir("errors");
    let path = dir.join("keystore.krz");
    Keystore::create(&path, "správné heslo", contents(), KdfParams::for_tests()).unwrap();
    assert!(matches!(
        Keystore::unlock(&path, "spravne heslo"),
        Err(KeystoreError::WrongPassphrase)
    ));
    assert!(matches!(
        Keystore::unlock(&dir.join("nothing.krz"), "x"),
        Err(KeystoreError::NotFound(_))
    ));
    let good = fs::read(&path).unwrap();
    let bad = dir.join("bad.krz");
    // Every truncation is refused, never a panic.
    for len in 0..good.len() {
        fs::write(&bad, &good[..len]).unwrap();
        match Keystore::unlock(&bad, "správné heslo") {
            Err(KeystoreError::Corrupt(_)) | Err(KeystoreError::WrongPassphrase) => {}
            other => panic!("truncated to {len}: {other:?}"),
        }
        if len < HEADER_LEN + TAG_LEN {
            assert!(matches!(
                Keystore::unlock(&bad, "správné heslo"),
                Err(KeystoreError::Corrupt(_))
            ));
        }
    }
    // Every garbled byte is refused: the header by its checks or as AAD, the rest by AEAD.
    for i in 0..good.len() {
        let mut garbled = good.clone();
        garbled[i] ^= 0x41;
        fs::write(&bad, &garbled).unwrap();
        match Keystore::unlock(&bad, "správné heslo") {
            Err(KeystoreError::Corrupt(_)) | Err(KeystoreError::WrongPassphrase) => {}
            Err(KeystoreError::BadKdfParams(_)) => {}
            other => panic!("byte {i} garbled: {other:?}"),
        }
    }
    let mut garbled = good.clone();
    garbled[0] = b'X';
    fs::write(&bad, &garbled).unwrap();
    assert!(matches!(
        Keystore::unlock(&bad, "správné heslo"),
        Err(KeystoreError::Corrupt(_))
    ));
    // A hostile header asking for 4 TiB of memory is refused before allocating.
    let mut greedy = good.clone();
    greedy[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    fs::write(&bad, &greedy).unwrap();
    assert!(matches!(
        Keystore::unlock(&bad, "správné heslo"),
        Err(KeystoreError::Corrupt(_))
    ));
    let mut future = good.clone();
    future[6] = FORMAT_VERSION + 1;
    fs::write(&bad, &future).unwrap();
    assert!(matches!(
        Keystore::unlock(&bad, "správné heslo"),
        Err(KeystoreError::Corrupt(_))
    ));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn change_passphrase_and_refusals() {
    let dir = temp_dir("change");
    let path = dir.join("keystore.krz");
    assert!(matches!(
        Keystore::create(&path, "", contents(), KdfParams::for_tests()),
        Err(KeystoreError::EmptyPassphrase)
    ));
    assert!(matches!(
        Keystore::create(
            &path,
            "x",
            contents(),
            KdfParams {
                m_cost_kib: 64,
                t_cost: 0,
                p_cost: 1
            }
        ),
        Err(KeystoreError::BadKdfParams(_))
    ));
    assert!(!path.exists());
    let mut ks = Keystore::create(&path, "staré", contents(), KdfParams::for_tests()).unwrap();
    ks.change_passphrase("nové", KdfParams::for_tests())
        .unwrap();
    assert!(matches!(
        Keystore::unlock(&path, "staré"),
        Err(KeystoreError::WrongPassphrase)
    ));
    assert_eq!(
        Keystore::unlock(&path, "nové")
            .unwrap()
            .contents()
            .device_seed(),
        &SEED
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kdf_strength_and_secrets_are_not_shown() {
    assert!(!KdfParams::for_tests().is_production_strength());
    assert!(KdfParams::default().is_production_strength());
    assert_eq!(
        format!("{:?}", Secret32::from_bytes([0xee; 32])),
        "Secret32(..)"
    );
}

/// Keystores written while the role was the keystore's own `Role` enum still open: postcard
/// encodes a variant by its index, and `StaffRole` has the same variants in the same order.
#[test]
fn roles_written_before_staff_role_still_decode() {
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum OldRole {
        Chair,
        Secretary,
        Member,
        OrpCoordinator,
        ExerciseLeader,
        Observer,
    }
    let old = [
        (OldRole::Chair, StaffRole::Chair),
        (OldRole::Secretary, StaffRole::Secretary),
        (OldRole::Member, StaffRole::Member),
        (OldRole::OrpCoordinator, StaffRole::OrpCoordinator),
        (OldRole::ExerciseLeader, StaffRole::ExerciseLeader),
        (OldRole::Observer, StaffRole::Observer),
    ];
    for (index, (old, new)) in old.into_iter().enumerate() {
        let bytes = postcard::to_allocvec(&old).unwrap();
        assert_eq!(bytes, [index as u8], "one byte: the variant index");
        assert_eq!(postcard::from_bytes::<StaffRole>(&bytes).unwrap(), new);
        assert_eq!(postcard::to_allocvec(&new).unwrap(), bytes);
    }
    // A whole stored invite as the old code wrote it (role Observer = 5).
    #[derive(Serialize)]
    struct OldInvite {
        id: [u8; 16],
        space: SpaceId,
        role: OldRole,
        expires_ms: u64,
        secret: Secret32,
        used: bool,
    }
    let bytes = postcard::to_allocvec(&OldInvite {
        id: [2; 16],
        space: SpaceId([1; 16]),
        role: OldRole::Observer,
        expires_ms: 1_800_000_000_000,
        secret: Secret32::from_bytes([0x7c; 32]),
        used: false,
    })
    .unwrap();
    let invite: StoredInviteV3 = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(invite.role, StaffRole::Observer);
    assert_eq!(postcard::to_allocvec(&invite).unwrap(), bytes);
}

/// The one test with production parameters: they work, and this is what unlocking costs.
#[test]
fn production_params_work() {
    let dir = temp_dir("production");
    let path = dir.join("keystore.krz");
    let params = KdfParams::default();
    Keystore::create(&path, "dlouhé heslo štábu", contents(), params).unwrap();
    let start = Instant::now();
    let ks = Keystore::unlock(&path, "dlouhé heslo štábu").unwrap();
    let elapsed = start.elapsed();
    eprintln!("unlock with {params:?} took {elapsed:?}");
    assert_eq!(ks.params(), params);
    assert_eq!(ks.contents().device_seed(), &SEED);
    fs::remove_dir_all(&dir).unwrap();
}

/// Replaces the file of `ks` with `plain` sealed under its key as format `version` wrote it.
fn write_as_format(ks: &Keystore, path: &Path, version: u8, plain: &[u8]) {
    let nonce = [4u8; NONCE_LEN];
    let mut head = header(ks.params, &ks.salt, &nonce);
    head[6] = version;
    let mut body = plain.to_vec();
    let tag = aead_key(&ks.key)
        .unwrap()
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&head[..]),
            &mut body,
        )
        .unwrap();
    let mut file = head.to_vec();
    file.extend(body);
    file.extend_from_slice(tag.as_ref());
    fs::write(path, &file).unwrap();
}

#[test]
fn a_format_1_keystore_opens_without_relay_grants_and_is_saved_as_the_current_format() {
    #[derive(Serialize)]
    struct V1<'a> {
        device_seed: &'a Secret32,
        name: &'a str,
        spaces: &'a [SpaceEntry],
        invites: &'a [StoredInviteV3],
        pending_joins: &'a [PendingJoin],
        relay_spaces: &'a [SpaceId],
    }
    let dir = temp_dir("format1");
    let path = dir.join("keystore.krz");
    let ks = Keystore::create(&path, "heslo", contents(), KdfParams::for_tests()).unwrap();
    let c = ks.contents();
    let plain = postcard::to_allocvec(&V1 {
        device_seed: &c.device_seed,
        name: &c.name,
        spaces: &c.spaces,
        invites: &old_invites(c),
        pending_joins: &c.pending_joins,
        relay_spaces: &[SpaceId([9; 16])],
    })
    .unwrap();
    write_as_format(&ks, &path, FORMAT_VERSION_1, &plain);

    let mut opened = Keystore::unlock(&path, "heslo").unwrap();
    assert_eq!(opened.contents().relay_spaces, vec![SpaceId([9; 16])]);
    assert!(opened.contents().relay_grants.is_empty());
    assert_eq!(opened.contents().spaces[0].name, SPACE_NAME);
    opened.contents_mut().relay_grants.push(RelayGrantEntry {
        space: SpaceId([9; 16]),
        secret: Secret32::from_bytes([1; 32]),
        granter: DeviceId([5; 32]),
    });
    opened.save().unwrap();
    assert_eq!(fs::read(&path).unwrap()[6], FORMAT_VERSION);
    let again = Keystore::unlock(&path, "heslo").unwrap();
    assert_eq!(
        again
            .contents()
            .relay_grant(SpaceId([9; 16]))
            .map(|s| *s.as_bytes()),
        Some([1; 32])
    );
    assert_eq!(again.contents().relay_grants[0].granter, DeviceId([5; 32]));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_format_2_relay_grant_opens_with_an_unknown_granter_and_no_member_lists() {
    #[derive(Serialize)]
    struct GrantV2<'a> {
        space: SpaceId,
        secret: &'a Secret32,
    }
    #[derive(Serialize)]
    struct V2<'a> {
        device_seed: &'a Secret32,
        name: &'a str,
        spaces: &'a [SpaceEntry],
        invites: &'a [StoredInviteV3],
        pending_joins: &'a [PendingJoin],
        relay_spaces: &'a [SpaceId],
        relay_grants: &'a [GrantV2<'a>],
    }
    let dir = temp_dir("format2");
    let path = dir.join("keystore.krz");
    let ks = Keystore::create(&path, "heslo", contents(), KdfParams::for_tests()).unwrap();
    let c = ks.contents();
    let secret = Secret32::from_bytes([3; 32]);
    let plain = postcard::to_allocvec(&V2 {
        device_seed: &c.device_seed,
        name: &c.name,
        spaces: &c.spaces,
        invites: &old_invites(c),
        pending_joins: &c.pending_joins,
        relay_spaces: &[SpaceId([9; 16])],
        relay_grants: &[GrantV2 {
            space: SpaceId([9; 16]),
            secret: &secret,
        }],
    })
    .unwrap();
    write_as_format(&ks, &path, 2, &plain);

    let opened = Keystore::unlock(&path, "heslo").unwrap();
    let grant = &opened.contents().relay_grants[0];
    assert_eq!(
        (grant.space, grant.granter),
        (SpaceId([9; 16]), UNKNOWN_GRANTER)
    );
    assert_eq!(grant.secret.as_bytes(), &[3; 32]);
    assert!(opened.contents().member_lists.is_empty());
    assert_eq!(opened.contents().spaces[0].name, SPACE_NAME);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_format_3_keystore_opens_with_invites_bound_to_no_orp() {
    #[derive(Serialize)]
    struct V3<'a> {
        device_seed: &'a Secret32,
        name: &'a str,
        spaces: &'a [SpaceEntry],
        invites: &'a [StoredInviteV3],
        pending_joins: &'a [PendingJoin],
        relay_spaces: &'a [SpaceId],
        relay_grants: &'a [RelayGrantEntry],
        member_lists: &'a [SpaceMemberLists],
    }
    let dir = temp_dir("format3");
    let path = dir.join("keystore.krz");
    let ks = Keystore::create(&path, "heslo", contents(), KdfParams::for_tests()).unwrap();
    let c = ks.contents();
    let plain = postcard::to_allocvec(&V3 {
        device_seed: &c.device_seed,
        name: &c.name,
        spaces: &c.spaces,
        invites: &old_invites(c),
        pending_joins: &c.pending_joins,
        relay_spaces: &[],
        relay_grants: &[],
        member_lists: &[],
    })
    .unwrap();
    write_as_format(&ks, &path, FORMAT_VERSION_3, &plain);
    let opened = Keystore::unlock(&path, "heslo").unwrap();
    let invite = &opened.contents().invites[0];
    assert_eq!(
        (invite.role, invite.orp.as_str()),
        (StaffRole::Observer, "")
    );
    opened.save().unwrap();
    assert_eq!(fs::read(&path).unwrap()[6], FORMAT_VERSION);
    let again = Keystore::unlock(&path, "heslo").unwrap();
    assert_eq!(again.contents().invites[0].id, [2; 16]);
    let _ = fs::remove_dir_all(&dir);
}
