"""LazyConditionFuture: a concurrent.futures.Future that makes its condition only when something waits on it or
watches it. Each test asserts Future's documented behaviour, with completions racing waiters where they can."""

import asyncio
import concurrent.futures
import threading
import unittest

from scaler_cpp._future import LazyConditionFuture


def made_condition(future) -> bool:
    return "_made_condition" in future.__dict__


class LazyConditionFutureTest(unittest.TestCase):
    def test_a_result_set_before_anyone_asks_makes_no_condition(self):
        future = LazyConditionFuture()
        self.assertFalse(future.done())
        self.assertFalse(future.running())
        future.set_result(42)
        self.assertTrue(future.done())
        self.assertFalse(future.cancelled())
        self.assertEqual(future.result(), 42)
        self.assertIsNone(future.exception())
        self.assertFalse(made_condition(future))

    def test_a_waiter_on_another_thread_is_woken(self):
        future = LazyConditionFuture()
        got = []
        waiter = threading.Thread(target=lambda: got.append(future.result(timeout=30)))
        waiter.start()
        while not made_condition(future):  # the waiter has made the condition: the long path is taken
            threading.Event().wait(0.001)
        future.set_result("late")
        waiter.join(30)
        self.assertEqual(got, ["late"])

    def test_an_exception_is_raised_by_result_and_returned_by_exception(self):
        future = LazyConditionFuture()
        future.set_exception(ValueError("bad"))
        with self.assertRaisesRegex(ValueError, "bad"):
            future.result()
        self.assertIsInstance(future.exception(), ValueError)

    def test_a_second_completion_is_an_invalid_state_on_either_path(self):
        quiet = LazyConditionFuture()
        quiet.set_result(1)
        with self.assertRaises(concurrent.futures.InvalidStateError):
            quiet.set_result(2)
        watched = LazyConditionFuture()
        watched.add_done_callback(lambda _: None)
        watched.set_result(1)
        with self.assertRaises(concurrent.futures.InvalidStateError):
            watched.set_exception(RuntimeError())
        self.assertEqual((quiet.result(), watched.result()), (1, 1))

    def test_callbacks_run_once_whether_added_before_or_after_the_result(self):
        calls = []
        before = LazyConditionFuture()
        before.add_done_callback(lambda f: calls.append(("before", f.result())))
        before.set_result(1)
        after = LazyConditionFuture()
        after.set_result(2)
        after.add_done_callback(lambda f: calls.append(("after", f.result())))
        self.assertEqual(calls, [("before", 1), ("after", 2)])

    def test_a_cancelled_pending_future_cannot_then_finish(self):
        future = LazyConditionFuture()
        self.assertTrue(future.cancel())
        self.assertTrue(future.cancelled())
        self.assertTrue(future.done())
        with self.assertRaises(concurrent.futures.InvalidStateError):
            future.set_result(1)
        with self.assertRaises(concurrent.futures.CancelledError):
            future.result()

    def test_wait_for_all_and_as_completed_see_every_completion_while_they_race(self):
        # A completer thread finishes futures while the main thread starts waiting on them: wait() must not
        # return before every one is done, and as_completed must yield each exactly once.
        for _ in range(20):
            futures = [LazyConditionFuture() for _ in range(500)]
            start = threading.Barrier(2)

            def complete():
                start.wait()
                for i, f in enumerate(futures):
                    f.set_result(i)

            completer = threading.Thread(target=complete)
            completer.start()
            start.wait()
            done, not_done = concurrent.futures.wait(futures, timeout=30)
            self.assertEqual((len(done), len(not_done)), (500, 0))
            self.assertTrue(all(f.done() for f in done))
            completer.join(30)
            again = list(concurrent.futures.as_completed(futures, timeout=30))
            self.assertEqual(sorted(f.result() for f in again), list(range(500)))

    def test_result_with_a_timeout_raises_timeout_when_nothing_comes(self):
        future = LazyConditionFuture()
        with self.assertRaises(concurrent.futures.TimeoutError):
            future.result(timeout=0.01)

    def test_asyncio_awaits_it(self):
        future = LazyConditionFuture()

        async def main():
            threading.Timer(0.01, future.set_result, args=("async",)).start()
            return await asyncio.wrap_future(future)

        self.assertEqual(asyncio.run(main()), "async")

    def test_running_follows_set_running_or_notify_cancel(self):
        future = LazyConditionFuture()
        self.assertTrue(future.set_running_or_notify_cancel())
        self.assertTrue(future.running())
        self.assertFalse(future.cancel())
        future.set_result(None)
        self.assertFalse(future.running())
        self.assertIn("finished", repr(future))


if __name__ == "__main__":
    unittest.main()
