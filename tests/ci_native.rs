//! CI-native behaviour: under GitHub Actions the tool writes the job summary and step outputs
//! itself; the composite action (`action.yml`) and the Azure Pipelines template in docs/ci.md
//! are parsed, and the action's own script is run, as the runner would run it, against the
//! emulator.

mod common;

use clap::CommandFactory;
use common::Harness;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SCENARIO: &str = r#"
[[identity]]
name = "ci-app"
type = "service_principal"
secret = "action-test-secret-1"

[[account]]
name = "granted-openai"
kind = "OpenAI"
resource_group = "rg-ai"
custom_subdomain = "granted-openai"

[[account]]
name = "other-openai"
kind = "OpenAI"
resource_group = "rg-other"
custom_subdomain = "other-openai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services OpenAI User"
scope = "account:granted-openai"

[machine]
environment = "ci-app"
"#;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn action() -> serde_yaml::Value {
    let text = std::fs::read_to_string(repo_file("action.yml")).expect("action.yml");
    serde_yaml::from_str(&text).expect("action.yml is YAML")
}

/// The long flags `entraprobe run` accepts.
fn run_flags() -> Vec<String> {
    let cli = entraprobe::cli::Cli::command();
    let run = cli.find_subcommand("run").expect("run");
    run.get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect()
}

/// `--flag` words in a script's `entraprobe …` invocations (continuation lines included).
fn entraprobe_flags(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .filter(|l| l.contains("entraprobe run") || l.contains("args+=("))
        .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '(' || c == ')'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(['"', '\'', ';']).to_string())
        .map(|w| w.split('=').next().unwrap().to_string())
        .collect()
}

#[test]
fn the_action_is_a_composite_action_whose_inputs_and_flags_all_exist() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_mapping().expect("inputs");
    let text = std::fs::read_to_string(repo_file("action.yml")).unwrap();
    for reference in text.split("inputs.").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            inputs.contains_key(serde_yaml::Value::from(name.as_str())),
            "action.yml uses inputs.{name}, which it does not declare"
        );
    }
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    let known = run_flags();
    for step in steps {
        if let Some(script) = step["run"].as_str() {
            assert!(
                step["shell"].is_string(),
                "a composite run step needs a shell: {step:?}"
            );
            assert!(
                !script.contains("${{"),
                "inputs reach scripts through env, never pasted into the script: {script}"
            );
            for flag in entraprobe_flags(script) {
                assert!(
                    known.contains(&flag),
                    "action.yml passes {flag}, unknown to run"
                );
            }
        }
    }
    // It installs entraprobe from the action's own source, not the workflow's repository.
    assert!(text.contains("--path \"$GITHUB_ACTION_PATH\""));
}

/// The action's `run` step with its `${{ inputs.* }}` env values filled in as the runner would.
fn run_step_env(inputs: &BTreeMap<&str, String>) -> (String, Vec<(String, String)>) {
    let action = action();
    let declared = action["inputs"].as_mapping().unwrap();
    let step = action["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .expect("a step with id: run")
        .clone();
    let value_of = |name: &str| -> String {
        inputs.get(name).cloned().unwrap_or_else(|| {
            declared[name]["default"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    };
    let env = step["env"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let expr = v.as_str().unwrap();
            let name = expr
                .trim_start_matches("${{ inputs.")
                .trim_end_matches(" }}");
            (k.as_str().unwrap().to_string(), value_of(name))
        })
        .collect();
    (step["run"].as_str().unwrap().to_string(), env)
}

fn bin_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_entraprobe"))
        .parent()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actions_script_gates_writes_the_summary_outputs_and_junit() {
    let h = Harness::start(SCENARIO).await;
    let work = tempfile::tempdir().unwrap();
    let summary = work.path().join("summary.md");
    let outputs = work.path().join("outputs.txt");
    let junit = work.path().join("entraprobe.xml");
    let services: Vec<String> = h
        .service_flags()
        .into_iter()
        .filter(|f| f != "--service")
        .collect();
    let inputs = BTreeMap::from([
        ("services", services.join("\n")),
        ("credential", "environment".to_string()),
        ("junit", junit.display().to_string()),
        ("timeout", "10s".to_string()),
    ]);
    let (script, step_env) = run_step_env(&inputs);
    let mut env: BTreeMap<String, String> = h.emulator.env().into_iter().collect();
    let path = format!("{}:{}", bin_dir().display(), env["PATH"]);
    env.insert("PATH".into(), path);
    env.insert("GITHUB_ACTIONS".into(), "true".into());
    env.insert("GITHUB_STEP_SUMMARY".into(), summary.display().to_string());
    env.insert("GITHUB_OUTPUT".into(), outputs.display().to_string());
    env.extend(step_env);
    let out = tokio::process::Command::new("bash")
        .arg("-e")
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env_clear()
        .envs(&env)
        .output()
        .await
        .expect("bash runs the action's script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // One account is granted, the other is not: the gate fails with exit code 1.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let written = std::fs::read_to_string(&outputs).expect("$GITHUB_OUTPUT written");
    assert!(written.contains("exit-code=1\n"), "{written}");
    assert!(written.contains("failed-cells=1\n"), "{written}");
    assert!(written.contains("inconclusive-cells=0\n"), "{written}");
    let summary = std::fs::read_to_string(&summary).expect("$GITHUB_STEP_SUMMARY written");
    // One credential, two accounts: a row per service (docs/output.md).
    assert!(summary.contains("| service |"), "{summary}");
    assert!(summary.contains("other-openai"), "{summary}");
    // Annotations come on stdout beside the table.
    assert!(
        stdout.lines().any(|l| l.starts_with("::error ")),
        "no annotation:\n{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(xml.contains("<testsuites"), "{xml}");
    assert!(!summary.contains("action-test-secret-1") && !stdout.contains("action-test-secret-1"));
}

/// The YAML blocks of docs/ci.md.
fn ci_doc_yaml_blocks() -> Vec<(String, serde_yaml::Value)> {
    let doc = std::fs::read_to_string(repo_file("docs/ci.md")).unwrap();
    doc.split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .map(|b| {
            let v = serde_yaml::from_str(&b).unwrap_or_else(|e| panic!("{e}:\n{b}"));
            (b, v)
        })
        .collect()
}

#[test]
fn the_ci_guide_templates_parse_and_pass_only_real_flags() {
    let blocks = ci_doc_yaml_blocks();
    let known = run_flags();
    for (text, _) in &blocks {
        for flag in entraprobe_flags(text) {
            assert!(
                known.contains(&flag),
                "docs/ci.md passes {flag}, unknown to run:\n{text}"
            );
        }
    }
    // The Azure Pipelines template: parameters, and steps that install, gate and publish.
    let (_, template) = blocks
        .iter()
        .find(|(_, v)| v["parameters"].is_sequence() && v["steps"].is_sequence())
        .expect("docs/ci.md holds an Azure Pipelines step template (parameters + steps)");
    let steps = template["steps"].as_sequence().unwrap();
    let tasks: Vec<&str> = steps.iter().filter_map(|s| s["task"].as_str()).collect();
    assert!(tasks.contains(&"AzureCLI@2"), "{tasks:?}");
    assert!(tasks.contains(&"PublishTestResults@2"), "{tasks:?}");
    let text = serde_yaml::to_string(template).unwrap();
    assert!(
        text.contains("cargo install --locked"),
        "the template installs entraprobe"
    );
    assert!(
        !text.contains("--path ."),
        "the install step must install entraprobe, not the user's repository"
    );
    // A GitHub workflow that uses the action.
    assert!(
        blocks
            .iter()
            .any(|(t, _)| t.contains("uses: ") && t.contains("/entraprobe@")),
        "docs/ci.md shows the composite action in a workflow"
    );
}
