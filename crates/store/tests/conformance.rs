//! One conformance suite, run against both backends: whatever passes on SQLite passes on
//! PostgreSQL, so the rest of Homeport cannot tell them apart.
//!
//! PostgreSQL comes from `HOMEPORT_TEST_POSTGRES_URL` (a role allowed to create databases);
//! each run creates and drops its own database. CI sets the variable and the PostgreSQL half
//! fails there without it; elsewhere it says loudly that it was not run.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test fails loudly on any surprise"
)]

use store::{Migration, Statement, Store, StoreError, Value};

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "CREATE TABLE users (name TEXT PRIMARY KEY, age BIGINT, photo {blob}, note TEXT);
              CREATE TABLE access_keys (user_name TEXT NOT NULL, key_id TEXT PRIMARY KEY)",
    },
    Migration { version: 2, sql: "CREATE TABLE events (seq {serial}, body TEXT NOT NULL)" },
];

async fn suite(store: &Store) {
    store.migrate(MIGRATIONS).await.unwrap();
    store.migrate(MIGRATIONS).await.unwrap();
    let versions = store.query("SELECT version FROM schema_migrations ORDER BY version", vec![]).await.unwrap();
    assert_eq!(versions.iter().map(|row| row.int(0).unwrap()).collect::<Vec<_>>(), vec![1, 2]);

    // Values round-trip exactly, NULL included.
    let photo: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let insert = "INSERT INTO users (name, age, photo, note) VALUES (?, ?, ?, ?)";
    store
        .execute(insert, vec!["zoë 'quoted' \"name\"".into(), Value::Int(i64::MAX), photo.clone().into(), Value::Null])
        .await
        .unwrap();
    store.execute(insert, vec!["bob".into(), Value::Int(-7), Value::Null, "".into()]).await.unwrap();
    let rows = store.query("SELECT name, age, photo, note FROM users ORDER BY name", vec![]).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].text(0).unwrap(), rows[0].int(1).unwrap()), ("bob".to_owned(), -7));
    assert_eq!(rows[0].0[2], Value::Null);
    assert_eq!(rows[0].opt_text(3).unwrap(), Some(String::new()));
    assert_eq!(rows[1].text(0).unwrap(), "zoë 'quoted' \"name\"");
    assert_eq!(rows[1].int(1).unwrap(), i64::MAX);
    assert_eq!(rows[1].blob(2).unwrap(), photo);
    assert_eq!(rows[1].opt_text(3).unwrap(), None);

    // A duplicate key is a conflict, and changes nothing.
    let duplicate = store.execute(insert, vec!["bob".into(), Value::Int(1), Value::Null, Value::Null]).await;
    assert_eq!(duplicate, Err(StoreError::Conflict));
    let age = store.query("SELECT age FROM users WHERE name = ?", vec!["bob".into()]).await.unwrap();
    assert_eq!(age[0].int(0).unwrap(), -7);

    // A transaction is all or nothing.
    let failing = store
        .transaction(vec![
            Statement::new(insert, vec!["carol".into(), Value::Int(30), Value::Null, Value::Null]),
            Statement::new(insert, vec!["bob".into(), Value::Int(1), Value::Null, Value::Null]),
        ])
        .await;
    assert_eq!(failing, Err(StoreError::Conflict));
    assert!(store.query("SELECT name FROM users WHERE name = ?", vec!["carol".into()]).await.unwrap().is_empty());

    // Row counts of updates and guarded inserts ("at most two keys per user", atomically).
    assert_eq!(store.execute("UPDATE users SET age = age + 1 WHERE name = ?", vec!["bob".into()]).await.unwrap(), 1);
    assert_eq!(store.execute("UPDATE users SET age = 0 WHERE name = ?", vec!["nobody".into()]).await.unwrap(), 0);
    let guarded = "INSERT INTO access_keys (user_name, key_id) SELECT ?, ? WHERE (SELECT COUNT(*) FROM access_keys WHERE user_name = ?) < 2";
    for (key, expected) in [("AKIA1", 1), ("AKIA2", 1), ("AKIA3", 0)] {
        let changed = store.execute(guarded, vec!["bob".into(), key.into(), "bob".into()]).await.unwrap();
        assert_eq!(changed, expected, "{key}");
    }

    // A guard that changes nothing rolls the whole transaction back.
    let unmet = store
        .transaction(vec![
            Statement::new(insert, vec!["dave".into(), Value::Int(40), Value::Null, Value::Null]),
            Statement::guard("UPDATE users SET age = 1 WHERE name = ?", vec!["nobody".into()]),
        ])
        .await;
    assert_eq!(unmet, Err(StoreError::Unmet(1)));
    assert!(store.query("SELECT name FROM users WHERE name = ?", vec!["dave".into()]).await.unwrap().is_empty());
    let met = store
        .transaction(vec![
            Statement::guard("UPDATE users SET age = 2 WHERE name = ?", vec!["bob".into()]),
            Statement::new(insert, vec!["dave".into(), Value::Int(40), Value::Null, Value::Null]),
        ])
        .await;
    assert_eq!(met, Ok(vec![1, 1]));

    // Concurrent writers and readers all get through, and every write is visible.
    let writes = (0..64).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store.execute("INSERT INTO events (body) VALUES (?)", vec![format!("event {n}").into()]).await
        })
    });
    for write in writes {
        write.await.unwrap().unwrap();
    }
    let reads = (0..32).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.query("SELECT COUNT(*) FROM events", vec![]).await })
    });
    for read in reads {
        read.await.unwrap().unwrap();
    }
    let events = store.query("SELECT seq, body FROM events ORDER BY seq LIMIT 5 OFFSET 10", vec![]).await.unwrap();
    assert_eq!(events.len(), 5);
    assert!(events.windows(2).all(|pair| pair[0].int(0).unwrap() < pair[1].int(0).unwrap()));
    let count = store.query("SELECT COUNT(*) FROM events", vec![]).await.unwrap();
    assert_eq!(count[0].int(0).unwrap(), 64);

    // Quotas hold under concurrency: of 40 simultaneous guarded inserts for three slots,
    // exactly three take effect, and every other answers "no row changed" (not an error).
    let quota = "INSERT INTO access_keys (user_name, key_id) SELECT ?, ? WHERE (SELECT COUNT(*) FROM access_keys WHERE user_name = ?) < 3";
    let tries = (0..40).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store.execute(quota, vec!["erin".into(), format!("AKIAERIN{n}").into(), "erin".into()]).await
        })
    });
    // Spawned all at once, before any is awaited.
    let tries: Vec<_> = tries.collect();
    let mut inserted = 0;
    for attempt in tries {
        inserted += attempt.await.unwrap().unwrap();
    }
    assert_eq!(inserted, 3, "guarded inserts racing for three slots");
    let erin = store.query("SELECT COUNT(*) FROM access_keys WHERE user_name = ?", vec!["erin".into()]).await.unwrap();
    assert_eq!(erin[0].int(0).unwrap(), 3);

    // The same with the check last: each transaction writes two rows, then its guard requires
    // at most five; with 20 at once, exactly two commit and the rest are Unmet.
    let batches = (0..20).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let key = |k: u32| Statement::new(
                "INSERT INTO access_keys (user_name, key_id) VALUES (?, ?)",
                vec!["frank".into(), format!("AKIAFRANK{n}x{k}").into()],
            );
            store
                .transaction(vec![
                    key(1),
                    key(2),
                    Statement::guard(
                        "UPDATE users SET age = age WHERE name = ? AND (SELECT COUNT(*) FROM access_keys WHERE user_name = ?) <= 5",
                        vec!["bob".into(), "frank".into()],
                    ),
                ])
                .await
        })
    });
    let batches: Vec<_> = batches.collect();
    let mut committed = 0;
    for batch in batches {
        match batch.await.unwrap() {
            Ok(_) => committed += 1,
            Err(StoreError::Unmet(2)) => {}
            Err(error) => panic!("a guarded transaction failed: {error}"),
        }
    }
    assert_eq!(committed, 2, "transactions whose guard counts what they wrote");
    let frank =
        store.query("SELECT COUNT(*) FROM access_keys WHERE user_name = ?", vec!["frank".into()]).await.unwrap();
    assert_eq!(frank[0].int(0).unwrap(), 4);

    // Writes committed together keep their own outcomes: of 30 simultaneous transactions,
    // the conflicting ones and the unmet ones change nothing, and all the others take effect.
    let mixed = (0..30).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let event = Statement::new("INSERT INTO events (body) VALUES (?)", vec![format!("mixed {n}").into()]);
            let statements = match n % 3 {
                0 => vec![event],
                1 => vec![event, Statement::new(insert, vec!["bob".into(), Value::Int(1), Value::Null, Value::Null])],
                _ => vec![event, Statement::guard("UPDATE users SET age = 1 WHERE name = ?", vec!["nobody".into()])],
            };
            (n, store.transaction(statements).await)
        })
    });
    let mixed: Vec<_> = mixed.collect();
    for outcome in mixed {
        let (n, outcome) = outcome.await.unwrap();
        let expected = match n % 3 {
            0 => Ok(vec![1]),
            1 => Err(StoreError::Conflict),
            _ => Err(StoreError::Unmet(1)),
        };
        assert_eq!(outcome, expected, "transaction {n}");
    }
    let kept = store.query("SELECT body FROM events WHERE body LIKE 'mixed %' ORDER BY seq", vec![]).await.unwrap();
    let mut kept: Vec<String> = kept.iter().map(|row| row.text(0).unwrap()).collect();
    kept.sort();
    let mut expected: Vec<String> = (0..30).filter(|n| n % 3 == 0).map(|n| format!("mixed {n}")).collect();
    expected.sort();
    assert_eq!(kept, expected);
    store.execute("DELETE FROM events WHERE body LIKE 'mixed %'", vec![]).await.unwrap();

    // A long read (longer than SQLite's inline budget) still returns its whole answer.
    let long = store
        .query(
            "WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < 300000) SELECT COUNT(*), SUM(n) FROM numbers",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!((long[0].int(0).unwrap(), long[0].int(1).unwrap()), (300_000, 45_000_150_000));

    // A statement error is an error, not a panic or a hang.
    assert!(matches!(
        store.query("SELECT nope FROM users", vec![]).await,
        Err(StoreError::Invalid(_) | StoreError::Unavailable(_))
    ));
    assert!(store.execute(insert, vec!["too few".into()]).await.is_err());
}

async fn survives_reopen(url: &str) {
    // A second handle with relaxed durability writes to the same database...
    let relaxed = Store::open_with(url, store::Durability::ProcessCrash).await.unwrap();
    relaxed.execute("INSERT INTO events (body) VALUES (?)", vec!["relaxed".into()]).await.unwrap();
    drop(relaxed);
    // ...and everything acknowledged is there after closing and reopening.
    let store = Store::open(url).await.unwrap();
    store.migrate(MIGRATIONS).await.unwrap();
    let rows = store.query("SELECT COUNT(*) FROM events", vec![]).await.unwrap();
    assert_eq!(rows[0].int(0).unwrap(), 65, "acknowledged writes survive closing and reopening");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conforms() {
    let dir = std::env::temp_dir().join(format!("homeport-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("homeport.db");
    let _ = std::fs::remove_file(&path);
    let url = path.to_str().unwrap().to_owned();
    {
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.dialect(), store::Dialect::Sqlite);
        suite(&store).await;
    }
    survives_reopen(&url).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms() {
    let Ok(admin_url) = std::env::var("HOMEPORT_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set HOMEPORT_TEST_POSTGRES_URL: the PostgreSQL backend is tested there"
        );
        eprintln!("postgres_conforms: NOT RUN (set HOMEPORT_TEST_POSTGRES_URL to run it)");
        return;
    };
    let database = format!("homeport_conformance_{}", std::process::id());
    let admin = Store::open(&admin_url).await.unwrap();
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {database}"), vec![]).await;
    admin.execute(&format!("CREATE DATABASE {database}"), vec![]).await.unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{database}"),
        None => panic!("HOMEPORT_TEST_POSTGRES_URL must end with /DATABASE"),
    };
    {
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.dialect(), store::Dialect::Postgres);
        suite(&store).await;
    }
    survives_reopen(&url).await;
    admin.execute(&format!("DROP DATABASE {database} WITH (FORCE)"), vec![]).await.unwrap();
}
