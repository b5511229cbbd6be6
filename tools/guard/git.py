"""Which git invocations destroy work (uncommitted changes, stashes, branches, history, the run's snapshots)."""
from __future__ import annotations

import shlex
from pathlib import Path

_GIT_VALUE_OPTS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"}
# subcommands whose extra arguments, appended unseen by xargs, can make them destructive
_XARGS_RISKY = {"reset", "checkout", "switch", "restore", "clean", "push", "stash", "branch", "update-ref", "reflog",
                "gc", "rm", "read-tree", "checkout-index"}

# the long options of the subcommands judged below: git takes any unique prefix of one (`reset --har`)
_LONG = {sub: tuple(f"--{name}" for name in names.split()) for sub, names in {
    "reset": "quiet mixed soft hard merge keep recurse-submodules patch intent-to-add pathspec-from-file "
             "pathspec-file-nul refresh no-refresh",
    "switch": "create force-create detach guess discard-changes force merge conflict quiet progress track no-track "
              "orphan ignore-other-worktrees recurse-submodules",
    "restore": "source patch worktree staged quiet progress ours theirs merge conflict ignore-unmerged "
               "ignore-skip-worktree-bits recurse-submodules overlay no-overlay pathspec-from-file pathspec-file-nul",
    "clean": "quiet dry-run force interactive exclude",
    "push": "all branches prune mirror dry-run porcelain delete tags follow-tags signed atomic receive-pack exec "
            "force-with-lease force-if-includes force repo set-upstream thin quiet verbose progress "
            "recurse-submodules verify no-verify push-option ipv4 ipv6",
    "branch": "delete create-reflog force move copy color list show-current verbose quiet track no-track "
              "set-upstream-to unset-upstream edit-description contains no-contains merged no-merged column sort "
              "points-at format ignore-case remotes all abbrev omit-empty",
    "rm": "cached force dry-run quiet ignore-unmatch sparse pathspec-from-file pathspec-file-nul",
    "read-tree": "reset prefix index-output trivial aggressive dry-run exclude-per-directory no-sparse-checkout "
                 "empty recurse-submodules quiet",
    "checkout-index": "all force quiet no-create index stdin temp stage prefix ignore-skip-worktree-bits",
    "checkout": "quiet progress force ours theirs track no-track guess detach merge conflict patch orphan "
                "ignore-skip-worktree-bits ignore-other-worktrees overwrite-ignore recurse-submodules overlay "
                "no-overlay pathspec-from-file pathspec-file-nul",
    "gc": "aggressive auto prune no-prune quiet force keep-largest-pack cruft",
}.items()}

_WHY = {
    "reset": "`git reset --hard` discards all uncommitted changes, including the user's own work. Revert your edits "
             "with undo_edit; `git reset --soft`/`--mixed` move HEAD but keep the files; `git stash` sets changes aside.",
    "checkout": "`git checkout` of paths (or `.`, or with -f) overwrites uncommitted changes in those files. Revert your "
                "own edits with undo_edit, inspect with `git diff`, view old versions with `git show REV:path`; "
                "`git switch BRANCH` / `git checkout -b NAME` for branches are fine.",
    "switch": "`git switch --discard-changes`/`-f` throws away uncommitted changes. Commit or `git stash` them first.",
    "restore": "`git restore` of working-tree files discards their uncommitted changes. Revert your own edits with "
               "undo_edit; `git restore --staged PATH` (unstaging only) is allowed.",
    "clean": "`git clean -f` permanently deletes untracked files, which may be the user's new work. Remove specific "
             "files you created with `rm FILE`; preview with `git clean -n`.",
    "push": "a forced or deleting push rewrites the remote and can destroy other people's commits. Push normally; "
            "force pushes are for the user to decide.",
    "stash": "`git stash drop`/`clear` permanently deletes stashed work. Leave existing stashes alone.",
    "refs": "deleting refs or expiring reflogs removes the snapshots that make this run undoable (and the "
            "user's recovery points). Leave refs, reflogs and garbage collection alone.",
    "branch": "`git branch -D`/`-f` deletes or moves a branch even when its commits exist nowhere else. Leave other "
              "branches alone (`git branch -d` deletes merged branches only).",
    "history": "rewriting history (`filter-branch`, `filter-repo`) changes the user's existing commits. Make new "
               "commits instead.",
    "plumbing": "forced `rm`, `read-tree --reset -u` and `checkout-index -f` overwrite or delete files with "
                "uncommitted changes. Use `git rm` without -f (it refuses to drop changes) or undo_edit.",
    "xargs": "with xargs, arguments read from input are appended unseen, so this git command cannot be checked. "
             "Run it with its arguments written out.",
}


def check_git(args: list[str], cwd: Path | None, from_xargs: bool) -> str | None:
    """A refusal for `git ARGS` (the words after `git`) when it would destroy work, else None."""
    index, aliases = 0, {}
    while index < len(args) and args[index].startswith("-"):
        if args[index] == "-c" and index + 1 < len(args) and args[index + 1].startswith("alias."):
            key, _, value = args[index + 1][len("alias."):].partition("=")
            aliases[key] = value
        index += 2 if args[index] in _GIT_VALUE_OPTS else 1
    if index >= len(args):
        return None
    sub, rest = args[index], args[index + 1:]
    if sub in aliases:  # `git -c alias.x='reset --hard' x`: check what the alias stands for
        expansion = aliases[sub].lstrip("!")
        try:
            words = shlex.split(expansion)
        except ValueError:
            words = expansion.split()
        words = words[1:] if words[:1] == ["git"] else words
        return check_git(words + rest, cwd, from_xargs)
    kind, bad = _rule(sub, _spelled_out(sub, rest), cwd, from_xargs)
    if from_xargs and not bad and sub in _XARGS_RISKY:
        kind, bad = "xargs", True
    if not bad:
        return None
    return f"Refused (not run): `git {' '.join(args[index:])}`. {_WHY[kind]}"


def _spelled_out(sub: str, rest: list[str]) -> list[str]:
    """`rest` with each abbreviated long option written in full, as git reads it (`--har` is `--hard`); one that
    abbreviates several becomes all of them (git refuses it; judging every reading is the safe side), and a
    `--no-X` drops an earlier `--X` (the last one counts)."""
    known, out = _LONG.get(sub, ()), []
    for index, word in enumerate(rest):
        if word == "--":
            return out + rest[index:]
        name, eq, value = word.partition("=")
        if not name.startswith("--") or name in known:
            out.append(word)
            continue
        full = [option for option in known if option.startswith(name)]
        if not full and name.startswith("--no-"):
            negated = [option for option in known if option.startswith(f"--{name[5:]}")]
            out = [w for w in out if w.partition("=")[0] not in negated]
            continue
        out += [option + eq + value for option in full] or [word]
    return out


def _rule(sub: str, rest: list[str], cwd: Path | None, from_xargs: bool) -> tuple[str, bool]:
    """(the reason key, whether `git SUB REST` is destructive)."""
    short = "".join(w[1:] for w in rest if w.startswith("-") and not w.startswith("--"))
    if sub == "reset":
        return sub, "--hard" in rest or "--merge" in rest
    if sub == "checkout":
        return sub, _checkout_discards(rest, cwd, from_xargs)
    if sub == "switch":
        return sub, "--discard-changes" in rest or "--force" in rest or "f" in short
    if sub == "restore":
        staged = "--staged" in rest or "S" in short
        worktree = "--worktree" in rest or "W" in short
        return sub, worktree or not staged
    if sub == "clean":
        dry = "--dry-run" in rest or "n" in short
        return sub, not dry and ("--force" in rest or "f" in short)
    if sub == "push":
        return sub, (any(w.startswith(("--force", "--mirror", "--delete")) for w in rest) or "f" in short
                     or "d" in short or any(w.startswith(("+", ":")) and len(w) > 1 for w in rest))
    if sub == "stash":
        return sub, bool(rest) and rest[0] in ("drop", "clear")
    if sub in ("update-ref", "reflog", "gc"):
        return "refs", ("-d" in rest or (rest[:1] in (["expire"], ["delete"]))
                        or any(w in ("--prune=now", "--prune=all") for w in rest))
    if sub == "branch":
        return sub, "D" in short or "f" in short or "--force" in rest
    if sub in ("filter-branch", "filter-repo"):
        return "history", True
    if sub == "rm":
        return "plumbing", "--cached" not in rest and ("f" in short or "--force" in rest)
    if sub == "read-tree":
        return "plumbing", "--reset" in rest and ("-u" in rest or "u" in short)
    if sub == "checkout-index":
        return "plumbing", "f" in short or "--force" in rest
    return sub, False


def _checkout_discards(rest: list[str], cwd: Path | None, from_xargs: bool) -> bool:
    if "--" in rest:
        return bool(rest[rest.index("--") + 1:]) or from_xargs
    if any(w in ("-f", "--force", "-p", "--patch") for w in rest) or "." in rest:
        return True
    positional, skip = [], False
    for word in rest:
        if skip:
            skip = False
        elif word in ("-b", "-B", "--orphan"):
            skip = True
        elif not word.startswith("-"):
            positional.append(word)
    if any(word.startswith(":") or any(c in word for c in "*?[") for word in positional):
        return True
    if cwd is None:
        return len(positional) > 1
    return len(positional) > 1 or any((cwd / word).exists() for word in positional)
