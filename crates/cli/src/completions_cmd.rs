//! `ghl-bridge completions SHELL`: prints a tab-completion script for every command and option,
//! generated from the same definitions the parser uses, so it never falls behind.

use clap::Args;
use clap_complete::Shell;

/// Options of `ghl-bridge completions`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Install, e.g.:\n  bash: ghl-bridge completions bash > /etc/bash_completion.d/ghl-bridge\n  zsh:  ghl-bridge completions zsh > \"${fpath[1]}/_ghl-bridge\"\n  fish: ghl-bridge completions fish > ~/.config/fish/completions/ghl-bridge.fish\n  powershell: ghl-bridge completions powershell >> $PROFILE"
)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    pub shell: Shell,
}

/// Writes the script for `args.shell` describing `cli` to stdout.
pub fn run(args: CompletionsArgs, mut cli: clap::Command) -> Result<(), String> {
    let name = cli.get_name().to_string();
    clap_complete::generate(args.shell, &mut cli, name, &mut std::io::stdout());
    Ok(())
}
