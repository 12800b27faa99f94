# Sourced by the launchers: ensure_built JAR MODULE builds MODULE (and what it needs) with Maven when
# JAR is missing or older than any source or pom, so a fresh clone or a `git pull` just works.
ensure_built() {
  local jar=$1 module=$2
  if [ -f "$jar" ] && [ -z "$(find "$ROOT" \( -path "$ROOT/.git" -o -name target \) -prune -o \( -path '*/src/main/*' -o -name pom.xml \) -newer "$jar" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo "error: Maven (mvn) is needed to build $module the first time; install it, e.g. 'apt-get install maven'." >&2
    exit 1
  fi
  echo "building $module (first run or sources changed)..." >&2
  if ! (cd "$ROOT" && mvn -B -q -DskipTests -pl "$module" -am package >&2); then
    echo "error: the build of $module failed (see the Maven output above)." >&2
    exit 1
  fi
}
