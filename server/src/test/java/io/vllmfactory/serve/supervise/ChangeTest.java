package io.vllmfactory.serve.supervise;

import io.vllmfactory.serve.supervise.Change.Action;
import io.vllmfactory.serve.supervise.Change.Step;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class ChangeTest {
    @Test
    void aReSplitSaysWhoRestartsAtWhatShareThenWhatStarts() {
        Change c = new Change(List.of(2), List.of(new Step(Action.RESTART, 0, "0", 0.31),
                new Step(Action.RESTART, 1, "0", 0.31), new Step(Action.START, 2, "0", 0.31)));
        assertThat(c.summary(), is("instances 0 and 1 restart one at a time at 0.31 of GPU 0 while the others serve,"
                + " then instance 2 starts at 0.31 of GPU 0"));
    }

    @Test
    void startsOnSeveralGpusStopsAndNothing() {
        assertThat(new Change(List.of(4, 5, 6), List.of(new Step(Action.START, 4, "0", 0.46),
                new Step(Action.START, 5, "1", 0.46), new Step(Action.START, 6, "1", 0.46))).summary(),
                is("instance 4 starts at 0.46 of GPU 0, then instances 5 and 6 start at 0.46 of GPU 1"));
        assertThat(new Change(List.of(1, 2, 3), List.of(new Step(Action.STOP, 1, "0", 0.23),
                new Step(Action.STOP, 2, "0", 0.23), new Step(Action.STOP, 3, "0", 0.23))).summary(),
                is("instances 1, 2 and 3 drain and stop, giving back 0.23 of GPU 0"));
        assertThat(new Change(List.of(), List.of()).summary(), is("nothing to do"));
    }
}
