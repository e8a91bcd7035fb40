"""The Copilot sidecar: the GitHub Copilot CLI behind a loopback HTTP service.

ControlPilot's chat drawer talks to ``/api/copilot/*`` (:mod:`.proxy`), which
forwards to this sidecar (:mod:`.server`, 127.0.0.1:7879). The sidecar runs
the CLI once per chat message, confined to the workspace, one at a time, and
keeps the conversation history in ``apps/copilot/history.db``.

What we rely on from the CLI, checked against the npm package
``@github/copilot`` 1.0.102 (the version pinned in ``components/copilot``;
its README, ``copilot --help``, ``copilot help environment`` and
``copilot help permissions`` from ``@github/copilot-linux-x64`` 1.0.102,
and runs of that binary against a local OpenAI-compatible stub through its
``COPILOT_OFFLINE`` / ``COPILOT_PROVIDER_BASE_URL`` bring-your-own-model mode):

- A prompt piped on stdin runs one non-interactive turn and exits: the answer
  on stdout, the stats block (``Changes``, ``Duration``, ``Tokens``,
  ``Resume copilot --resume=<id>``) on stderr, exit code 0. ``-p/--prompt``
  does the same from argv; we use stdin so a prompt never shows in ``ps``.
- ``--session-id=<uuid>`` sets the UUID of a new session or resumes that
  session: the second run sends the first turn's messages to the model again.
  That is how one conversation spans several runs.
- Permissions: in non-interactive mode nothing can be approved at a prompt,
  so a tool that is not allowed is denied at once ("Denied, no one to
  approve"; the model gets "Permission denied" and the run goes on). Reading
  files (``view``, ``grep``, ``glob``) inside the allowed folders needs no
  permission, hence the protected folders in :mod:`.command`. Slash commands
  (``/yolo``) in a piped prompt are plain text, not commands.
  ``--allow-tool=PATTERN`` / ``--deny-tool=PATTERN`` take ``kind(argument)`` patterns with kinds
  ``shell(cmd:*?)``, ``write(path?)``, ``url(domain-or-url?)`` and
  ``<mcp-server>(tool?)``; denial wins over any allow.
  ``--allow-all-tools``, ``--allow-all-paths``, ``--allow-all-urls`` (and
  ``--allow-all`` / ``--yolo``, their sum) lift the checks.
- Paths: file tools may touch only the working directory and its
  subdirectories, the ``--add-dir`` folders, and the system temporary
  directory unless ``--disallow-temp-dir``.
- ``--model <model>``, ``--no-color``, ``--no-auto-update`` (run the bundled
  version, download nothing), ``--secret-env-vars=A,B`` (strip and redact
  those variables from tool environments and output), ``-v/--version``
  (prints ``GitHub Copilot CLI 1.0.102.``).
- Environment: ``COPILOT_ALLOW_ALL`` acts as ``--allow-all-tools`` (exactly
  ``true`` also trusts the folder's hooks and MCP servers), so we never pass
  it on; we do not pass ``--trust-folder`` either.
  ``COPILOT_GITHUB_TOKEN``, ``GH_TOKEN``, ``GITHUB_TOKEN`` in that order of
  precedence; ``COPILOT_HOME`` (state, default ``$HOME/.copilot``); ``COPILOT_AUTO_UPDATE=false``; ``NO_COLOR``.
  Without a token it exits 1 with "Error: No authentication information found."
"""
