"""inbound-sync: GitOps for the inbound number routing table of a voice-AI account.

Where everything lives (imports point one way: cli -> apply -> plan -> config -> phone,
apply -> api, cli and render -> provenance -> plan):

    phone     normalization of numbers (the identity of a mapping)
    config    YAML files -> DesiredState, with file:line errors
    api       the async HTTP client of the Inbound API: retries, auth, error shapes
    plan      (DesiredState, Snapshot, Policy) -> Plan, pure; saved plan files
    apply     runs a Plan through the client, concurrently, and verifies convergence
    provenance who changed a differing number last: git blame and log (subprocesses), the
              account's timestamps, drift already reported; a number's history
    render    Plan / apply result -> text, json, markdown, github
    cli       click commands; every exit code is decided in errors + cli
    sandbox   a local server of the same API over SQLite (extra: sandbox)
    errors    the error tree and exit codes
    jsontext  indented JSON as json.dumps writes it, for every document, written faster
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
