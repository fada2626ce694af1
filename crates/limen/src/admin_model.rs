//! `limen admin model …`: the model versions this build knows, which one
//! enrolment uses, and rolling out another.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use limen_domain::ModelVersion;
use limen_face::{FaceModel, ModelSource};
use limen_services::Operator;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Lists the versions this build knows: installed or not (every file
    /// of the manifest present with its SHA-256), active or retiring, and
    /// how many people of each organisation hold vectors of each.
    List,
    /// Makes VERSION the one enrolment uses. The current version stays
    /// matched at the entrances for the transition, while the people
    /// holding its vectors are asked by e-mail to renew; when it ends,
    /// their old vectors are deleted (consent is kept).
    Activate {
        version: String,
        /// How long the current version stays matched: 30d, 12h, 90m or 45s.
        #[arg(long, default_value = "30d", value_parser = period)]
        transition: Duration,
        /// When to remind those who have not renewed, before the end
        /// (comma-separated periods).
        #[arg(long, default_value = "7d,1d", value_delimiter = ',', value_parser = period)]
        remind: Vec<Duration>,
    },
    /// Ends the transition now: the retiring version's vectors are
    /// deleted and their holders need to enrol again.
    EndTransition,
}

pub async fn run(
    operator: &Operator,
    models: &ModelSource,
    command: ModelCommand,
) -> anyhow::Result<()> {
    match command {
        ModelCommand::List => list(operator, models).await,
        ModelCommand::Activate {
            version,
            transition,
            remind,
        } => {
            let Some(model) = FaceModel::by_id(&version) else {
                bail!(
                    "unknown model version {version:?}: `limen admin model list` shows the versions this build knows"
                );
            };
            model
                .check_installed(models)
                .with_context(|| format!("model version {version} is not installed in {models}"))?;
            // A migration in place killed half way is taken up again by
            // activating the same version once more.
            let (current, _) = operator.models().await?;
            let resuming = current.active.as_str() == model.id
                && current
                    .transition
                    .as_ref()
                    .is_some_and(|t| model.derives_from(t.retiring.as_str()));
            let rollout = if resuming {
                current
            } else {
                operator.activate_model(model, transition, &remind).await?
            };
            println!(
                "model version {} is active: enrolment uses it from now on.",
                rollout.active
            );
            match (&rollout.transition, model.back_end) {
                (Some(t), Some(back_end)) if model.derives_from(t.retiring.as_str()) => {
                    let centring = back_end
                        .load(models, model.dimensions)
                        .context("loading the back-end")?;
                    println!(
                        "{} derives from {}: its vectors move in place, person by person; nobody is asked to renew.",
                        rollout.active, t.retiring
                    );
                    let migrated = operator
                        .migrate_in_place(&t.retiring, &rollout.active, &centring)
                        .await
                        .context(
                            "moving the vectors in place (activate the same version again to go on)",
                        )?;
                    println!(
                        "{} people moved to {}; the transition from {} is over.",
                        migrated.people, rollout.active, t.retiring
                    );
                }
                (Some(t), _) => println!(
                    "{} stays matched at the entrances until {} (unix time); its holders are asked to renew.",
                    t.retiring, t.ends_at
                ),
                (None, _) => {
                    println!("nobody held vectors of the previous version: no transition.")
                }
            }
            Ok(())
        }
        ModelCommand::EndTransition => {
            match operator.end_model_transition().await? {
                Some(ended) => println!(
                    "transition ended: the vectors of {} are deleted; {} people need to enrol again.",
                    ended.retired,
                    ended.people.len()
                ),
                None => println!("no transition is under way."),
            }
            Ok(())
        }
    }
}

async fn list(operator: &Operator, models: &ModelSource) -> anyhow::Result<()> {
    let (rollout, holdings) = operator.models().await?;
    for model in FaceModel::ALL {
        let version = ModelVersion::new(model.id);
        let role = if rollout.active == version {
            "active".to_owned()
        } else if let Some(t) = rollout
            .transition
            .as_ref()
            .filter(|t| t.retiring == version)
        {
            format!("retiring, matched until {}", t.ends_at)
        } else {
            "not in use".to_owned()
        };
        let installed = match model.check_installed(models) {
            Ok(()) => "installed".to_owned(),
            Err(e) => format!("not installed ({e})"),
        };
        println!(
            "{} ({} numbers per vector): {role}; {installed}",
            model.id, model.dimensions
        );
        for file in model.files() {
            println!("    {}  {}", file.sha256, file.file_name);
        }
        for holding in holdings.iter().filter(|h| h.model_version == version) {
            println!(
                "    organisation {}: {} people, {} vectors",
                holding.org_id, holding.people, holding.vectors
            );
        }
    }
    Ok(())
}

/// A period as `30d`, `12h`, `90m` or `45s`.
fn period(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds_per = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => {
            return Err(format!(
                "{text:?}: give a number and a unit (d, h, m or s), e.g. 30d"
            ));
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: give a number and a unit (d, h, m or s), e.g. 30d"))?;
    number
        .checked_mul(seconds_per)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::period;
    use std::time::Duration;

    #[test]
    fn periods_read_as_operators_write_them() {
        assert_eq!(period("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(period("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(period("0s"), Ok(Duration::ZERO));
        for bad in ["", "d", "30", "3x", "-1d", "99999999999999999d"] {
            assert!(period(bad).is_err(), "{bad:?}");
        }
    }
}
