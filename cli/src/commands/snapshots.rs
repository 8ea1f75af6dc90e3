//! `keystone snapshots list|export|restore`: the state snapshots a node keeps in
//! `data/snapshots` (app.toml `[state-sync]`), for operators, as the SDK's `snapshots`
//! commands. Run `export` and `restore` on a stopped node: the state store is a
//! single-process file.
//!
//! `restore` puts a snapshot's state into an empty state store, every chunk checked against
//! the snapshot's root as it goes in (a crash midway resumes on the next `restore`). A node
//! then needs the block store's view of that height too — the light block and commit that
//! state sync fetches — before `start` can go on from it.

use crate::{home, Cli};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use keystone::home::Home;
use keystone_app::snapshots::{Applied, Restoring, Snapshots, FORMAT};
use keystone_store::Store;
use std::sync::Arc;

/// `keystone snapshots …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SnapshotsCommand {
    /// The snapshots kept, newest first.
    List,
    /// Take a snapshot of the state at a height now (default: the latest).
    Export {
        /// The height.
        #[arg(long)]
        height: Option<u64>,
    },
    /// Restore the state of a kept snapshot into an empty state store.
    Restore {
        /// The snapshot's height.
        height: u64,
        /// Its format.
        #[arg(default_value_t = FORMAT)]
        format: u32,
    },
}

fn open_store(home: &Home) -> Result<Store> {
    let path = home.data("application.redb");
    Store::open(&path).with_context(|| {
        format!(
            "{} cannot be opened (is a node running on this home? stop it first)",
            path.display()
        )
    })
}

pub(crate) fn run(cli: &Cli, cmd: &SnapshotsCommand) -> Result<()> {
    let home = Home(home(cli)?);
    let cfg = crate::home::read_snapshot_config(&home.config("app.toml"))?;
    let snapshots = Snapshots::new(home.data("snapshots"), cfg);
    match cmd {
        SnapshotsCommand::List => {
            for s in snapshots.list()? {
                println!(
                    "height: {} format: {} chunks: {} hash: {}",
                    s.height,
                    s.format,
                    s.chunks,
                    s.hash.to_uppercase()
                );
            }
        }
        SnapshotsCommand::Export { height } => {
            let store = open_store(&home)?;
            let Some(latest) = store.latest_version()? else {
                bail!("the state store holds no height to snapshot");
            };
            let s = snapshots.take(&store, height.unwrap_or(latest))?;
            println!(
                "Snapshot created at height {}, format {}, chunks {}",
                s.height, s.format, s.chunks
            );
        }
        SnapshotsCommand::Restore { height, format } => {
            let Some(s) = snapshots.get(*height, *format)? else {
                bail!(
                    "no snapshot of height {height} in format {format} in {}",
                    snapshots.dir().display()
                );
            };
            let store = Arc::new(open_store(&home)?);
            // A local snapshot is trusted to be of this chain: the root it reaches is the one
            // written beside it, and every chunk proves against that.
            let root = s.app_hash_bytes();
            let mut r = Restoring::begin(&store, s.height, s.chunks, &s.metadata(), &root)?;
            for i in r.next_chunk()..s.chunks {
                let chunk = snapshots
                    .chunk(s.height, s.format, i)?
                    .with_context(|| format!("chunk {i} of the snapshot is missing"))?;
                match r.apply(i, &chunk)? {
                    Applied::More | Applied::Done => {}
                    Applied::Refused(why) | Applied::WrongRoot(why) => {
                        bail!("chunk {i} of the snapshot is damaged: {why}")
                    }
                }
            }
            match r.finish()? {
                Applied::Done => println!("Restored the state of height {}", s.height),
                other => bail!("the snapshot does not restore: {other:?}"),
            }
        }
    }
    Ok(())
}
