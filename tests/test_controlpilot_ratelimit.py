from lorapilot.controlpilot.ratelimit import LoginLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_client_waits_until_its_oldest_failure_leaves_the_window():
    clock = Clock()
    limiter = LoginLimiter(per_client=3, overall=100, window_s=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
        clock.now += 1
    assert 55 < limiter.retry_after("a") <= 60
    assert limiter.retry_after("b") == 0  # other clients are not affected
    clock.now += 58
    assert limiter.retry_after("a") == 0


def test_failures_from_many_addresses_lock_everyone():
    limiter = LoginLimiter(per_client=5, overall=10, window_s=60, clock=Clock())
    for i in range(10):
        limiter.failed(f"10.0.0.{i}")
    assert limiter.retry_after("192.168.1.1") > 0


def test_success_clears_the_clients_own_failures():
    limiter = LoginLimiter(per_client=2, overall=100, window_s=60, clock=Clock())
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") > 0
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0
