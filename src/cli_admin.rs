//! Command-line administration: `user list|disable|enable|reset-password`,
//! `team add|list|add-member|remove-member`, and `audit verify`. Changes are audited
//! with the actor `cli`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::audit::Who;
use crate::auth::accounts::{self, AdminError, UserPatch};
use crate::clock::Clock;
use crate::config::Config;
use crate::storage::{Db, accounts as store};

#[derive(Subcommand, Debug)]
pub enum TeamCommand {
    /// Create a team.
    Add { name: String },
    /// List teams and their members.
    List,
    /// Put a user in a team.
    AddMember { team: String, user: String },
    /// Take a user out of a team.
    RemoveMember { team: String, user: String },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit trail and every signed checkpoint, in one
    /// snapshot; names the first bad row.
    Verify {
        /// Also check the checkpoints exported to this JSON-lines file.
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
    },
    /// Sign and export a checkpoint of the chain now.
    Checkpoint,
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url(), 2).await?;
    db.migrate().await?;
    Ok(db)
}

fn admin(e: AdminError) -> anyhow::Error {
    match e {
        AdminError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

pub async fn list_users(config: &Config) -> anyhow::Result<()> {
    let db = open(config).await?;
    for a in store::list(&db).await? {
        let state = if a.disabled { "disabled" } else { "active" };
        println!("{}\t{}\t{}\t{}\t{}", a.username, a.role, state, a.teams.join(","), a.id);
    }
    Ok(())
}

pub async fn set_disabled(config: &Config, user: &str, disabled: bool) -> anyhow::Result<()> {
    let db = open(config).await?;
    let patch = UserPatch { disabled: Some(disabled), ..Default::default() };
    let a =
        accounts::update_user(&db, &Who::command_line(), user, patch, Clock::system().now_ms()).await.map_err(admin)?;
    println!("{} is {}", a.username, if a.disabled { "disabled; their tokens are revoked" } else { "enabled" });
    Ok(())
}

/// Reads a new password from standard input (first line).
/// Revokes the user's API tokens too unless `keep_tokens`.
pub async fn reset_password(config: &Config, user: &str, keep_tokens: bool) -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("cannot read the password from standard input")?;
    let password = input.lines().next().unwrap_or_default().to_string();
    let db = open(config).await?;
    let done =
        accounts::set_password(&db, &Who::command_line(), user, password, !keep_tokens, Clock::system().now_ms())
            .await
            .map_err(admin)?;
    println!(
        "password changed for {user}; {} login sessions ended, {} API tokens revoked",
        done.sessions_ended, done.tokens_revoked
    );
    Ok(())
}

pub async fn team(config: &Config, cmd: TeamCommand) -> anyhow::Result<()> {
    let db = open(config).await?;
    let who = Who::command_line();
    let now = Clock::system().now_ms();
    match cmd {
        TeamCommand::Add { name } => {
            let id = accounts::create_team(&db, &who, &name, now).await.map_err(admin)?;
            println!("created team {name} ({id})");
        }
        TeamCommand::List => {
            for t in store::teams(&db).await? {
                let members: Vec<String> = t.members.iter().map(|m| format!("{} ({})", m.username, m.role)).collect();
                println!("{}\t{}", t.name, members.join(", "));
            }
        }
        TeamCommand::AddMember { team, user } => {
            let changed = accounts::membership(&db, &who, &team, &user, true, now).await.map_err(admin)?;
            println!("{user} {} {team}", if changed { "added to" } else { "was already in" });
        }
        TeamCommand::RemoveMember { team, user } => {
            let changed = accounts::membership(&db, &who, &team, &user, false, now).await.map_err(admin)?;
            println!("{user} {} {team}", if changed { "removed from" } else { "was not in" });
        }
    }
    Ok(())
}

/// `audit verify`: success, or a failure naming the first bad row; `audit checkpoint`.
pub async fn audit(config: &Config, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    use crate::audit::anchor::{self, SigningKey};
    let (audit, data_dir) = (&config.audit, &config.storage.data_dir);
    let key_path = audit.key_path(data_dir);
    match cmd {
        AuditCommand::Checkpoint => {
            let db = open(config).await?;
            let key = SigningKey::load_or_create(&key_path)?;
            let now = crate::clock::Clock::system().now_ms();
            match anchor::checkpoint(&db, &key, &audit.export_path(data_dir), now).await? {
                Some(c) => println!("checkpoint at seq {} signed and exported", c.seq),
                None => println!("nothing new since the last checkpoint"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { checkpoints } => {
            // The export is read before the database snapshot: every checkpoint in it names
            // a row committed before the snapshot.
            let exported = checkpoints.as_deref().map(anchor::read_export).transpose()?.unwrap_or_default();
            let db = open(config).await?;
            if !key_path.exists() {
                anyhow::ensure!(
                    checkpoints.is_none(),
                    "no signing key at {}: the checkpoints cannot be checked",
                    key_path.display()
                );
                return match crate::audit::store::verify(&db).await? {
                    Ok(v) => {
                        println!(
                            "audit trail chain intact: {} entries (no signing key at {}: checkpoints not checked)",
                            v.rows,
                            key_path.display()
                        );
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(b) => broken(&b.into()),
                };
            }
            let key = SigningKey::load(&key_path)?;
            match crate::audit::store::verify_anchored(&db, key.public_key(), &exported).await? {
                Ok(v) => {
                    println!(
                        "audit trail intact: {} entries, chain verified, {} signed checkpoints verified",
                        v.rows, v.checkpoints
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(f) => broken(&f),
            }
        }
    }
}

fn broken(f: &crate::audit::store::Finding) -> anyhow::Result<ExitCode> {
    eprintln!("audit trail BROKEN at seq {}: {f}", f.seq());
    Ok(ExitCode::FAILURE)
}
