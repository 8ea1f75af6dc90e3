//! The book's rules and its file.
use super::*;

fn id(n: u8) -> String {
    hex::encode([n; 20])
}

fn at(n: u8, ip: &str) -> NetAddr {
    NetAddr {
        id: id(n),
        addr: format!("{ip}:26656").parse().expect("test address"),
    }
}

#[test]
fn strict_books_refuse_unroutable_addresses_and_no_book_takes_private_or_own_ids() {
    let now = SystemTime::now();
    let mut strict = AddrBook::new(&id(0), vec![id(9)], true);
    let src = at(1, "8.8.8.8");
    assert_eq!(
        strict.add(at(2, "127.0.0.1"), src.clone(), now),
        Err(Refused::Unroutable)
    );
    assert_eq!(
        strict.add(at(2, "192.168.1.4"), src.clone(), now),
        Err(Refused::Unroutable)
    );
    assert_eq!(strict.add(at(2, "1.2.3.4"), src.clone(), now), Ok(()));
    assert_eq!(
        strict.add(at(0, "1.2.3.5"), src.clone(), now),
        Err(Refused::Ours)
    );
    assert_eq!(
        strict.add(at(9, "1.2.3.6"), src.clone(), now),
        Err(Refused::Private)
    );
    assert_eq!(
        strict.add(at(3, "1.2.3.7"), at(9, "1.1.1.1"), now),
        Err(Refused::Private)
    );
    let mut loose = AddrBook::new(&id(0), vec![], false);
    assert_eq!(loose.add(at(2, "127.0.0.1"), src, now), Ok(()));
}

#[test]
fn one_source_cannot_fill_the_book() {
    let now = SystemTime::now();
    let mut book = AddrBook::new(&id(0), vec![], false);
    let flooder = at(1, "127.0.0.1");
    let mut taken = 0;
    for i in 0..(MAX_PER_SOURCE as u32 + 50) {
        let a = NetAddr {
            id: hex::encode({
                let mut b = [7u8; 20];
                b[..4].copy_from_slice(&i.to_be_bytes());
                b
            }),
            addr: format!("127.0.0.2:{}", 1000 + i).parse().expect("addr"),
        };
        if book.add(a, flooder.clone(), now).is_ok() {
            taken += 1;
        }
    }
    assert_eq!(taken, MAX_PER_SOURCE);
    // Another source still gets its addresses in.
    assert_eq!(
        book.add(at(3, "127.0.0.3"), at(4, "127.0.0.4"), now),
        Ok(())
    );
}

#[test]
fn failed_dials_back_off_and_turn_an_entry_bad_and_bans_expire() {
    let now = SystemTime::now();
    let mut rng = Rng::seeded(1);
    let mut book = AddrBook::new(&id(0), vec![], false);
    book.add(at(2, "127.0.0.2"), at(1, "127.0.0.1"), now)
        .expect("add");
    assert_eq!(
        book.mark_attempt(&id(2), now),
        Some(id(1)),
        "never answered: its source is named"
    );
    assert!(
        book.pick(&mut rng, 50, now, |_| false).is_none(),
        "backing off"
    );
    assert!(book
        .pick(&mut rng, 50, now + Duration::from_secs(3), |_| false)
        .is_some());
    book.mark_attempt(&id(2), now);
    book.mark_attempt(&id(2), now);
    assert!(
        book.selection(&mut rng, None, now, "").is_empty(),
        "a bad entry is not handed out"
    );
    book.mark_good(&id(2), now);
    assert_eq!(book.selection(&mut rng, None, now, "").len(), 1);
    book.mark_bad(&id(2), None, now, Duration::from_secs(60));
    assert!(book.is_banned(&id(2), now) && !book.contains(&id(2)));
    book.reinstate(now + Duration::from_secs(61));
    assert!(book.contains(&id(2)) && !book.is_banned(&id(2), now + Duration::from_secs(61)));
}

#[test]
fn the_book_and_its_bans_survive_a_restart_in_cometbfts_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config/addrbook.json");
    let mut rng = Rng::seeded(2);
    let now = SystemTime::now();
    let mut book = AddrBook::open(&path, &id(0), vec![], false, &mut rng).expect("open");
    book.add(at(2, "127.0.0.2"), at(1, "127.0.0.1"), now)
        .expect("add");
    book.add(at(3, "127.0.0.3"), at(3, "127.0.0.3"), now)
        .expect("add");
    book.mark_good(&id(3), now);
    book.add(at(4, "127.0.0.4"), at(4, "127.0.0.4"), now)
        .expect("add");
    book.mark_bad(&id(4), None, now, Duration::from_secs(3600));
    book.save().expect("save");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let entries = json["addrs"].as_array().expect("addrs");
    assert_eq!(entries.len(), 3);
    let good = entries
        .iter()
        .find(|e| e["addr"]["id"] == id(3))
        .expect("good entry");
    assert_eq!(good["bucket_type"], 2);
    assert_eq!(good["addr"]["ip"], "127.0.0.3");
    assert_eq!(good["addr"]["port"], 26656);
    assert!(good["last_success"].as_str().expect("time").ends_with('Z'));
    let fresh = entries
        .iter()
        .find(|e| e["addr"]["id"] == id(2))
        .expect("new entry");
    assert_eq!(fresh["last_attempt"], ZERO_TIME);

    let back = AddrBook::open(&path, &id(0), vec![], false, &mut rng).expect("reopen");
    assert_eq!(back.len(), 2);
    assert!(back.is_banned(&id(4), now) && back.contains(&id(3)));
    assert_eq!(back.key, book.key);
}

#[test]
fn a_malformed_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("addrbook.json");
    std::fs::write(&path, b"{\"addrs\": 5}").expect("write");
    let err = AddrBook::open(&path, &id(0), vec![], false, &mut Rng::seeded(3))
        .err()
        .expect("refused");
    assert!(matches!(err, BookError::Corrupt { .. }), "{err}");
}

#[test]
fn selections_are_bounded() {
    let now = SystemTime::now();
    let mut rng = Rng::seeded(4);
    let mut book = AddrBook::new(&id(0), vec![], false);
    for i in 0..2000u32 {
        let n = i.to_be_bytes();
        let a = NetAddr {
            id: hex::encode([
                n[0], n[1], n[2], n[3], 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            ]),
            addr: format!("127.0.0.1:{}", 1000 + i).parse().expect("addr"),
        };
        // Each its own source: no per-source limit in play.
        book.add(a.clone(), a, now).expect("add");
    }
    assert_eq!(
        book.selection(&mut rng, Some(30), now, "").len(),
        MAX_SELECTION
    );
    let small = AddrBook::new(&id(0), vec![], false);
    assert!(small.selection(&mut rng, Some(30), now, "").is_empty());
}
