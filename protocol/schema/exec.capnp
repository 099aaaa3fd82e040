@0xde322d3aa1b5ae45;
# Payload and result of the built-in `exec` function (command tasks). They travel inside Task.payload and
# TaskResult.payload, so the scheduler never needs to know about them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("scaler::wire");

struct ExecRequest {
  argv @0 :List(Text);         # argv[0] is looked up in PATH
  workingDirectory @1 :Text;   # empty: the worker's own
  stdin @2 :Data;
}

struct ExecOutput {
  exitCode @0 :Int32;          # -1 when the program was killed by a signal
  signal @1 :Int32;            # the signal that killed it, or 0
  stdout @2 :Data;
  stderr @3 :Data;
  outputTruncated @4 :Bool;    # stdout or stderr exceeded the worker's capture limit
}
