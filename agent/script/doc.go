// Package script runs the external commands of a configuration the way
// keepalived 2.2.7 runs them (lib/notify.c): vrrp_script checks, notify
// scripts and hagent's restart commands all go through Parse and
// Command.Run, so that they share one set of guarantees:
//
//   - the command line is split into words (quotes group, backslash escapes)
//     and executed directly, never through a shell; a file without "#!" (or an
//     ELF header) is run by /bin/sh, as keepalived falls back to system() for
//     it, and so is a file the kernel refuses with ENOEXEC;
//   - a fixed environment and working directory, whatever the agent's own;
//   - the run-as user: the script's own `user`, else global_defs
//     script_user, else keepalived_script when that user exists, else the
//     agent's user (root) — see Resolve;
//   - a process group per run, killed whole at the timeout, and a bound on
//     how long a leftover child may hold the output pipe (exec.Cmd.WaitDelay);
//   - output bounded in memory and made valid UTF-8;
//   - a program missing at Parse is no error: Missing says why, and every run
//     looks for it again, so a script deployed after the agent is picked up
//     (keepalived 2.2.7 disables it until a reload instead); under
//     enable_script_security (Command.Secure) a program found that late must
//     pass Insecure first.
//
// Insecure reports what enable_script_security refuses (check_script_secure).
package script
