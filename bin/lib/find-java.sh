# Sourced by the launchers and .ci/run: sets JAVA_HOME to a JDK >= 21 or exits with a clear message.
# Order: JAVA_HOME if it qualifies, then the newest JDK under /usr/lib/jvm. With JAVA_RUNTIME_ONLY=1
# (set by a launcher that will not build, see build.sh) a JRE >= 21 qualifies too: no javac needed.

java_major() { # prints the major version of the java binary $1, or nothing
  local home release
  home=$(dirname "$(dirname "$1")")
  release="$home/release"
  if [ -r "$release" ]; then # cheap: no JVM start
    sed -n 's/^JAVA_VERSION="\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' "$release" | head -n 1
    return
  fi
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

has_tools() { # $1: a Java home; true when it can run (and, unless JAVA_RUNTIME_ONLY=1, build) the project
  [ -x "$1/bin/java" ] && { [ "${JAVA_RUNTIME_ONLY:-0}" = 1 ] || [ -x "$1/bin/javac" ]; }
}

find_java() {
  local candidate major
  if [ -n "${JAVA_HOME:-}" ] && has_tools "$JAVA_HOME"; then
    major=$(java_major "$JAVA_HOME/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then return 0; fi
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidate=${candidate%/}
    has_tools "$candidate" || continue
    major=$(java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  local what="JDK"
  if [ "${JAVA_RUNTIME_ONLY:-0}" = 1 ]; then what="Java runtime (JRE or JDK)"; fi
  echo "error: no $what >= 21 found (JAVA_HOME=${JAVA_HOME:-unset}; searched /usr/lib/jvm). Install one, e.g. 'apt-get install openjdk-21-jdk-headless' or Temurin 21+, and set JAVA_HOME to it." >&2
  exit 1
}

find_java
export PATH="$JAVA_HOME/bin:$PATH"
# Silences a harmless warning that JDK 24+ prints about Maven itself (older JDKs reject the flag).
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ]; then
  case "${MAVEN_OPTS:-}" in *sun-misc-unsafe*) ;; *) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;; esac
fi
