package io.vllmfactory.serve.admin;

import io.vllmfactory.serve.supervise.FleetException;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/** Every failure kind has one status and problem type; nothing internal reaches the client. */
class AdminProblemsTest {
    record Case(Throwable failure, int status, String kind, String detail) {
    }

    @Test
    void eachFailureKindMapsToItsStatusAndType() {
        List<Case> cases = List.of(
                new Case(new FleetException.Busy("a restart runs"), 409, "busy", "a restart runs"),
                new Case(new FleetException.OverBudget("0.10 free"), 409, "over-budget", "0.10 free"),
                new Case(new FleetException.WrongState("instance 1 is draining"), 409, "wrong-state",
                        "instance 1 is draining"),
                new Case(new FleetException.DirectMode("use --always-proxy"), 409, "direct-mode", "use --always-proxy"),
                new Case(new FleetException.UnknownInstance(7), 404, "not-found", "no instance 7"),
                new Case(new FleetException.Invalid("count too large"), 400, "invalid-request", "count too large"),
                new Case(RequestRefused.invalid("count: -1"), 400, "invalid-request", "count: -1"),
                new Case(RequestRefused.tooLarge("big"), 413, "payload-too-large", "big"),
                new Case(RequestRefused.unsupportedMediaType("text/plain"), 415, "unsupported-media-type", "text/plain"));
        for (Case c : cases) {
            AdminProblems.Problem p = AdminProblems.of(c.failure());
            assertThat(c.failure().toString(), p.status().code(), is(c.status()));
            assertThat(c.failure().toString(), p.kind(), is(c.kind()));
            assertThat(c.failure().toString(), p.detail(), is(c.detail()));
            assertThat(p.internal(), is(false));
        }
    }

    @Test
    void anUnexpectedFailureIsA500ThatHidesItsMessage() {
        AdminProblems.Problem p = AdminProblems.of(new IllegalStateException("secret internals at /var/x"));
        assertThat(p.status().code(), is(500));
        assertThat(p.kind(), is("internal"));
        assertThat(p.internal(), is(true));
        assertThat(p.detail(), not(containsString("secret internals")));
    }
}
