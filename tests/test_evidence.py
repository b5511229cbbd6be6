"""Evidence before done: a run's first finish before any file changed or command ran is refused, once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from glm_agent.config.settings import Config, Limits
from helpers import call, finish, run_script, tool_results


def test_a_finish_with_nothing_done_is_refused_once_then_the_second_is_accepted(repo):
    script = [call("read_file", path="README.md"), finish("README.md says hello, verified by running the tests."),
              finish("Nothing needed to change: the task only asked what README.md says.")]
    result, requests, events = run_script(repo, script, task="What does README.md say?")

    assert result.stop_reason == "finished"
    assert result.summary.startswith("Nothing needed to change")
    refusal = tool_results(requests[2])[1]
    assert refusal.startswith("finish refused, once") and "call finish again" in refusal
    assert [(e["reason"], e["step"]) for e in events if e["type"] == "finish_refused"] == [("no_evidence", 2)]
    assert result.extra["finish_refused"] == {"no_evidence": 1}
    recorded = json.loads((Path(result.run_dir) / "result.json").read_text())
    assert recorded["extra"]["finish_refused"] == {"no_evidence": 1}


def test_the_refusal_makes_a_lazy_model_do_the_work(repo):
    script = [finish("Created hello.txt."), call("write_file", path="hello.txt", content="hi\n"),
              finish("Created hello.txt containing hi.")]
    result, requests, _ = run_script(repo, script, task="create hello.txt containing hi")

    assert result.stop_reason == "finished" and result.files_changed == ["hello.txt"]
    assert (repo / "hello.txt").read_text() == "hi\n"
    assert result.commit and result.extra["finish_refused"] == {"no_evidence": 1}


@pytest.mark.parametrize("work", [call("write_file", path="hello.txt", content="hi\n"),
                                  call("bash", command="cat README.md")], ids=["changed a file", "ran a command"])
def test_a_finish_after_real_work_is_accepted_at_once(repo, work):
    result, requests, events = run_script(repo, [work, finish("did it")])

    assert result.stop_reason == "finished" and len(requests) == 2
    assert "finish_refused" not in result.extra
    assert not [e for e in events if e["type"] == "finish_refused"]


def test_a_command_the_guard_refused_is_no_evidence(repo):
    script = [call("bash", command="git reset --hard"), call("git_status"), finish("reset"),
              finish("nothing to do after all")]
    result, requests, _ = run_script(repo, script)

    assert tool_results(requests[1])[0].startswith("Error:")  # the guard's refusal: the command never ran
    assert tool_results(requests[3])[2].startswith("finish refused, once")
    assert result.stop_reason == "finished" and result.extra["finish_refused"] == {"no_evidence": 1}


def test_a_run_that_did_nothing_at_all_cannot_say_nothing_needed_to_change(repo):
    script = [finish("Created hello.txt."), finish("Nothing needed to change."), finish("It was already done.")]
    result, requests, events = run_script(repo, script, task="create hello.txt containing hi")

    again = tool_results(requests[2])[1]
    assert again.startswith("finish refused again") and "1 more finish" in again
    assert (result.stop_reason, result.commit) == ("no_action", None)
    assert result.error == "finish called 3 times with nothing read, changed or run"
    assert result.extra["finish_refused"] == {"no_evidence": 2}


def test_looking_after_the_refusal_lets_the_next_finish_stand(repo):
    script = [finish("done"), finish("nothing to do"), call("glob", pattern="*.md"), finish("README.md exists")]
    result, requests, _ = run_script(repo, script, task="Is there a README?")

    assert result.stop_reason == "finished" and result.summary == "README.md exists"
    assert result.extra["finish_refused"] == {"no_evidence": 2}


def test_the_rule_can_be_turned_off(repo):
    config = Config(limits=Limits(evidence_before_finish=False))
    result, requests, _ = run_script(repo, [finish("done")], config=config)

    assert result.stop_reason == "finished" and len(requests) == 1 and "finish_refused" not in result.extra


def test_replay_reproduces_the_refusal(repo):
    from glm_agent.jobs.replay import replay

    script = [finish("Created hello.txt."), call("write_file", path="hello.txt", content="hi\n"), finish("done")]
    result, _, _ = run_script(repo, script)
    outcome = replay(Path(result.run_dir))
    assert outcome["differences"] == [] and outcome["replayed_stop"] == "finished" and outcome["tool_calls"] == 3
