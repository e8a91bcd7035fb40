"""Failed-login throttling: per client with backoff, the account slowed under attack, the real user never locked out."""

from lorapilot.controlpilot.ratelimit import LoginLimiter, client_key


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_client_is_held_after_its_failures_and_each_further_failure_doubles_the_wait():
    clock = Clock()
    limiter = LoginLimiter(per_client=3, window_s=60, base_delay_s=2, max_delay_s=900, clock=clock)
    for _ in range(2):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    assert limiter.retry_after("a") == 2
    clock.now += 2
    assert limiter.failed("a") == 4 and limiter.failed("a") == 8  # backoff
    assert limiter.retry_after("b") == 0  # other clients are not affected
    clock.now += 8 + 61
    assert limiter.retry_after("a") == 0  # forgiven once the window passed


def test_the_wait_is_capped():
    limiter = LoginLimiter(per_client=1, base_delay_s=2, max_delay_s=900, clock=Clock())
    for _ in range(100):
        wait = limiter.failed("a")
    assert wait == 900


def test_many_addresses_guessing_never_lock_out_a_client_that_has_not_failed():
    """The audit: 12 addresses × 5 wrong passwords refused the right one for everyone for 300 s."""
    limiter = LoginLimiter(per_client=5, account_threshold=50, window_s=300, clock=Clock())
    for i in range(12):
        for _ in range(5):
            limiter.failed(f"10.0.0.{i}")
    assert limiter.under_attack()
    assert limiter.retry_after("192.168.1.1") == 0
    assert limiter.retry_after("10.0.0.3") > 0


def test_under_attack_a_failing_client_is_slowed_from_its_first_failure():
    limiter = LoginLimiter(per_client=5, account_threshold=10, window_s=60, base_delay_s=2, clock=Clock())
    for i in range(10):
        limiter.failed(f"10.0.0.{i}")
    assert limiter.failed("172.16.0.1") > 0
    assert limiter.retry_after("172.16.0.1") > 0


def test_success_clears_the_clients_own_failures():
    limiter = LoginLimiter(per_client=2, window_s=60, clock=Clock())
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") > 0
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


def test_an_ipv6_client_is_one_client_for_its_whole_64():
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1234") == "2001:db8::/64"
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1"
    limiter = LoginLimiter(per_client=2, clock=Clock())
    limiter.failed("2001:db8::1")
    limiter.failed("2001:db8::2")
    assert limiter.retry_after("2001:db8::3") > 0
