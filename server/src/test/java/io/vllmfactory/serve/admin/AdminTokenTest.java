package io.vllmfactory.serve.admin;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

class AdminTokenTest {
    @Test
    void onlyTheExactTokenMatches() {
        AdminToken token = AdminToken.of("abcdefghijklmnop+/=");
        assertThat(token.matches("abcdefghijklmnop+/="), is(true));
        assertThat(token.matches("abcdefghijklmnop+/"), is(false));
        assertThat(token.matches("abcdefghijklmnop+/=="), is(false));
        assertThat(token.matches("ABCDEFGHIJKLMNOP+/="), is(false));
        assertThat(token.matches(""), is(false));
        assertThat(token.toString(), is("AdminToken[redacted]"));
    }
}
