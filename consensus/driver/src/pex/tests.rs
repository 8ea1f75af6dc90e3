//! The reactor's rules, without sockets: what it asks the switch to do for each event.

use super::*;

fn id(n: u8) -> String {
    hex::encode([n; 20])
}

fn sock(n: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, n], 26656))
}

fn config(seed_mode: bool, seeds: Vec<Dial>) -> PexConfig {
    PexConfig {
        seeds,
        seed_mode,
        max_outbound: 10,
        persistent: vec![],
        unconditional: vec![],
        period: ENSURE_PEERS_PERIOD,
    }
}

fn pex(seed_mode: bool, seeds: Vec<Dial>) -> Pex {
    Pex::new(
        config(seed_mode, seeds),
        AddrBook::new(&id(0), vec![], false),
        Rng::seeded(7),
    )
}

fn addrs_in(bytes: &[u8]) -> Vec<pb::NetAddress> {
    match pb::Message::decode(bytes).ok().and_then(|m| m.sum) {
        Some(pb::message::Sum::PexAddrs(a)) => a.addrs,
        other => panic!("not PexAddrs: {other:?}"),
    }
}

fn addrs_message(from: u8, n: u8) -> Vec<u8> {
    encode_addrs(
        &(from..from + n)
            .map(|i| NetAddr {
                id: id(i),
                addr: sock(i),
            })
            .collect::<Vec<_>>(),
    )
}

fn sent_request(actions: &[Action], to: &str) -> bool {
    actions.iter().any(
        |a| matches!(a, Action::Send { peer, bytes } if peer == to && *bytes == encode_request()),
    )
}

fn dials(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dial(d) => Some(d.id.clone()),
            _ => None,
        })
        .collect()
}

fn disconnected(actions: &[Action], who: &str) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Disconnect { peer, .. } if peer == who))
}

#[test]
fn a_node_with_no_peers_dials_its_seeds_then_dials_what_the_seed_sends() {
    let seed = Dial {
        id: id(50),
        addr: "127.0.0.50:26656".into(),
    };
    let mut p = pex(false, vec![seed.clone()]);
    let c = Clock::now();
    assert_eq!(p.tick(c), vec![Action::Dial(seed.clone())]);
    // Connected to the seed: ask it.
    let up = p.peer_up(&seed.id, Some(sock(50)), true, c);
    assert!(sent_request(&up, &seed.id));
    let got = p.receive(&seed.id, &addrs_message(1, 5), c);
    assert_eq!(dials(&got), (1..6).map(id).collect::<Vec<_>>());
    assert_eq!(p.book().len(), 6, "five learned, and the seed itself");
}

#[test]
fn a_node_asks_peers_it_dialled_and_dials_the_book_every_period() {
    let mut p = pex(false, vec![]);
    let c = Clock::now();
    let up = p.peer_up(&id(1), Some(sock(1)), true, c);
    assert!(sent_request(&up, &id(1)));
    // An inbound peer is not asked on connecting, but its address is learned.
    assert!(p.peer_up(&id(2), Some(sock(2)), false, c).is_empty());
    assert!(
        p.receive(&id(1), &addrs_message(3, 4), c).is_empty(),
        "not a seed: no dial yet"
    );
    let round = p.tick(c);
    let mut dialled = dials(&round);
    dialled.sort();
    assert_eq!(dialled, (3..7).map(id).collect::<Vec<_>>());
    // Nothing is dialled twice while the dials are out, and the next round waits a period.
    assert!(dials(&p.tick(c.after(Duration::from_secs(1)))).is_empty());
    assert!(p
        .tick(c.after(ENSURE_PEERS_PERIOD))
        .iter()
        .any(|a| matches!(a, Action::Send { .. })));
}

#[test]
fn addresses_not_asked_for_get_the_sender_banned() {
    let mut p = pex(false, vec![]);
    let c = Clock::now();
    p.peer_up(&id(1), Some(sock(1)), false, c);
    let got = p.receive(&id(1), &addrs_message(10, 200), c);
    assert!(disconnected(&got, &id(1)));
    assert!(!p.admits(&id(1), c), "banned");
    assert!(p.admits(&id(1), c.after(BAN_TIME + Duration::from_secs(1))));
    assert!(!p.book().contains(&id(10)), "nothing it sent was kept");
}

#[test]
fn more_than_250_addresses_or_a_malformed_one_get_the_sender_banned() {
    let mut p = pex(false, vec![]);
    let c = Clock::now();
    p.peer_up(&id(1), Some(sock(1)), true, c);
    let many: Vec<NetAddr> = (0..251u32)
        .map(|i| NetAddr {
            id: hex::encode([
                i.to_be_bytes()[3],
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                9,
                (i >> 8) as u8,
            ]),
            addr: SocketAddr::from(([127, 0, 1, 1], 1000 + i as u16)),
        })
        .collect();
    assert!(disconnected(
        &p.receive(&id(1), &encode_addrs(&many), c),
        &id(1)
    ));
    assert!(!p.admits(&id(1), c));

    p.peer_up(&id(2), Some(sock(2)), true, c);
    let bad = pb::Message {
        sum: Some(pb::message::Sum::PexAddrs(pb::PexAddrs {
            addrs: vec![pb::NetAddress {
                id: "not-an-id".into(),
                ip: "127.0.0.9".into(),
                port: 1,
            }],
        })),
    }
    .encode_to_vec();
    assert!(disconnected(&p.receive(&id(2), &bad, c), &id(2)));
    p.peer_up(&id(3), None, false, c);
    assert!(disconnected(&p.receive(&id(3), b"\xff\xff", c), &id(3)));
}

#[test]
fn a_peer_asking_too_often_is_banned_but_two_quick_requests_pass() {
    let mut p = pex(false, vec![]);
    let c = Clock::now();
    p.peer_up(&id(1), Some(sock(1)), false, c);
    let req = encode_request();
    for _ in 0..2 {
        let got = p.receive(&id(1), &req, c);
        assert!(matches!(got.as_slice(), [Action::Send { .. }]), "{got:?}");
    }
    let later = c.after(ENSURE_PEERS_PERIOD / 3 + Duration::from_millis(1));
    assert!(matches!(
        p.receive(&id(1), &req, later).as_slice(),
        [Action::Send { .. }]
    ));
    assert!(disconnected(&p.receive(&id(1), &req, later), &id(1)));
    assert!(!p.admits(&id(1), later));
}

#[test]
fn persistent_peers_are_disconnected_but_never_banned() {
    let mut cfg = config(false, vec![]);
    cfg.persistent = vec![id(1)];
    let mut p = Pex::new(cfg, AddrBook::new(&id(0), vec![], false), Rng::seeded(1));
    let c = Clock::now();
    p.peer_up(&id(1), Some(sock(1)), true, c);
    p.peer_down(&id(1));
    p.peer_up(&id(1), Some(sock(1)), true, c);
    let got = p.receive(&id(1), &addrs_message(5, 1), c);
    assert!(got.is_empty(), "it was asked on connecting: {got:?}");
    assert!(disconnected(
        &p.receive(&id(1), &addrs_message(5, 1), c),
        &id(1)
    ));
    assert!(p.admits(&id(1), c));
}

#[test]
fn a_seed_is_not_banned_for_stale_addresses() {
    let seed = Dial {
        id: id(50),
        addr: "127.0.0.50:26656".into(),
    };
    let mut p = pex(false, vec![seed.clone()]);
    let c = Clock::now();
    p.peer_up(&seed.id, Some(sock(50)), true, c);
    p.receive(&seed.id, &addrs_message(100, 40), c);
    for i in 100..140 {
        assert!(p
            .dial_failed(&id(i), DialFailure::Unreachable, c)
            .is_empty());
    }
    assert!(p.admits(&seed.id, c));
}

#[test]
fn a_source_of_addresses_that_do_not_answer_is_banned() {
    let mut p = pex(false, vec![]);
    let c = Clock::now();
    p.peer_up(&id(1), Some(sock(1)), true, c);
    p.receive(&id(1), &addrs_message(100, DEAD_ADDRS_PER_SOURCE as u8), c);
    let mut last = Vec::new();
    for i in 100..100 + DEAD_ADDRS_PER_SOURCE as u8 {
        assert!(p.admits(&id(1), c));
        last = p.dial_failed(&id(i), DialFailure::Unreachable, c);
    }
    assert!(disconnected(&last, &id(1)));
    assert!(!p.admits(&id(1), c));
    // A dial that reached the wrong node bans the address's id.
    p.book
        .add(
            NetAddr {
                id: id(7),
                addr: sock(7),
            },
            NetAddr {
                id: id(8),
                addr: sock(8),
            },
            c.wall,
        )
        .expect("add");
    p.dial_failed(&id(7), DialFailure::WrongIdentity, c);
    assert!(!p.admits(&id(7), c));
}

#[test]
fn a_seed_answers_once_and_hangs_up_and_crawls_its_book() {
    let mut p = pex(true, vec![]);
    let c = Clock::now();
    for i in 1..=3 {
        p.peer_up(&id(i), Some(sock(i)), false, c);
    }
    let got = p.receive(&id(3), &encode_request(), c);
    match got.as_slice() {
        [Action::SendAndClose { peer, bytes }] => {
            assert_eq!(peer, &id(3));
            let mut ids: Vec<String> = addrs_in(bytes).into_iter().map(|a| a.id).collect();
            ids.sort();
            assert_eq!(ids, vec![id(1), id(2)], "what it knows, less the asker");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        p.receive(&id(3), &encode_request(), c).is_empty(),
        "one answer per connection"
    );
    for i in 1..=3 {
        p.peer_down(&id(i));
    }
    // Crawling: the seed dials what it knows and asks; an answer ends the connection.
    let mut crawled = dials(&p.tick(c));
    crawled.sort();
    assert_eq!(crawled, vec![id(1), id(2), id(3)]);
    let up = p.peer_up(&id(1), Some(sock(1)), true, c);
    assert!(sent_request(&up, &id(1)));
    assert!(disconnected(
        &p.receive(&id(1), &addrs_message(20, 2), c),
        &id(1)
    ));
    assert!(p.book().contains(&id(20)));
    // Not crawled again soon, and any connection is dropped after SEED_HOLD.
    p.peer_up(&id(9), Some(sock(9)), false, c);
    let next = p.tick(c.after(CRAWL_PERIOD));
    assert!(!dials(&next).contains(&id(1)));
    assert!(disconnected(&next, &id(9)));
}
