#!/usr/bin/env bash
# A real Apache Kafka broker for tests and benchmarks, resolved from Maven
# Central and run in KRaft mode (one node that is broker and controller) on
# loopback. Nothing of Kafka is committed: the jars live in the git-ignored
# third_party/kafka/libs.
#
#   scripts/kafka.sh install            resolve kafka_2.13 + kafka-tools (idempotent)
#   scripts/kafka.sh start DIR PORT [KEY=VALUE...]
#                                       format DIR as a fresh single-node KRaft
#                                       storage, start the broker on 127.0.0.1:PORT
#                                       (controller on a free port) in the background,
#                                       wait until it accepts connections, print its pid.
#                                       Extra KEY=VALUE pairs go into server.properties.
#   scripts/kafka.sh stop DIR           stop the broker started on DIR
#   scripts/kafka.sh restart DIR        start DIR's broker again on its storage
#                                       (after stop, or a kill -9), same port
#   scripts/kafka.sh run CLASS ARGS...  run a Kafka class (tools) on the same classpath
#   scripts/kafka.sh classpath          print the classpath
#
# Environment: KAFKA_VERSION (default 4.4.0; falls back to 4.3.1 if the
# first does not resolve), KAFKA_HEAP (default -Xmx1g -Xms1g).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KDIR=$ROOT/third_party/kafka
LIBS=$KDIR/libs
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
FALLBACK_VERSION=4.3.1
KAFKA_HEAP=${KAFKA_HEAP:-"-Xmx1g -Xms1g"}

log() { printf '\033[1;35m[kafka]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

resolve() {  # resolve VERSION → copies jars into $LIBS.tmp
  local v=$1 tmp
  tmp=$(mktemp -d)
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>viewpipe</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$v</version></dependency>
    <!-- the broker logs through slf4j 1.7 into log4j2 (as Kafka's own distribution does) -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.25.5</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIBS.tmp"
  if (cd "$tmp" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$LIBS.tmp" >"$tmp/mvn.log" 2>&1); then
    rm -rf "$tmp"
    return 0
  fi
  tail -n 20 "$tmp/mvn.log" >&2
  rm -rf "$tmp" "$LIBS.tmp"
  return 1
}

cmd_install() {
  if [[ -f $KDIR/VERSION ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null \
      && compgen -G "$LIBS/kafka-tools-*.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jre-headless)"
  mkdir -p "$KDIR"
  local v=$KAFKA_VERSION
  log "resolving org.apache.kafka:kafka_2.13:$v and kafka-tools:$v (mvn dependency:copy-dependencies)"
  if ! resolve "$v"; then
    v=$FALLBACK_VERSION
    log "retrying with $v"
    resolve "$v" || die "could not resolve Kafka from Maven Central"
  fi
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
  echo "$v" >"$KDIR/VERSION"
  log "Kafka $v: $(ls "$LIBS" | wc -l) jars in third_party/kafka/libs"
}

java_cmd() {  # java with the Kafka classpath
  exec_java=(java $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true
    -cp "$LIBS/*")
}

write_log4j() {  # DIR: broker log (log4j2) into DIR/broker.log
  cat >"$1/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $1/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka.server
logger.kafka.level = info
EOF
}

wait_port() {  # PORT SECONDS
  local port=$1 deadline=$((SECONDS + $2))
  while (( SECONDS < deadline )); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

cmd_start() {
  local dir=${1:?usage: start DIR PORT} port=${2:?usage: start DIR PORT}
  shift 2
  cmd_install
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ -f $dir/kafka.pid ]] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null \
    && die "a broker is already running on $dir (pid $(cat "$dir/kafka.pid"))"
  # The controller's port: one the kernel calls free now (PORT+1 was taken
  # once in CI, by some connection's ephemeral port); restart reads it back
  # from server.properties.
  local cport
  cport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  {
    echo "process.roles=broker,controller"
    echo "node.id=1"
    echo "controller.quorum.voters=1@127.0.0.1:$cport"
    echo "listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
    echo "controller.listener.names=CONTROLLER"
    echo "inter.broker.listener.name=PLAINTEXT"
    echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    echo "log.dirs=$dir/data"
    echo "num.partitions=4"
    echo "offsets.topic.replication.factor=1"
    echo "transaction.state.log.replication.factor=1"
    echo "transaction.state.log.min.isr=1"
    echo "share.coordinator.state.topic.replication.factor=1"
    echo "share.coordinator.state.topic.min.isr=1"
    echo "group.initial.rebalance.delay.ms=0"
    echo "auto.create.topics.enable=false"
    echo "num.network.threads=2"
    echo "num.io.threads=4"
    echo "log.retention.hours=1"
    for kv in "$@"; do echo "$kv"; done
  } >"$dir/server.properties"
  write_log4j "$dir"
  java_cmd
  local cluster_id
  cluster_id=$("${exec_java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1) \
    || die "StorageTool random-uuid failed"
  # Static quorum (controller.quorum.voters), so the storage is formatted
  # without --standalone.
  "${exec_java[@]}" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; die "storage format failed"; }
  launch "$dir" "$port"
}

# launch DIR PORT: runs the broker of DIR's server.properties and storage in
# the background, waits until it serves, prints its pid.
launch() {
  local dir=$1 port=$2
  # A restart's wait below must see this run's "started", not the last one's.
  [[ -f $dir/broker.log ]] && mv "$dir/broker.log" "$dir/broker.log.1"
  # setsid: the broker survives the caller's shell and gets its own process group.
  setsid "${exec_java[@]}" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/kafka.pid"
  if ! wait_port "$port" 60; then
    tail -n 40 "$dir/stdout.log" "$dir/broker.log" >&2 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    die "broker did not accept connections on 127.0.0.1:$port within 60 s"
  fi
  # The port opens shortly before the broker has registered; wait for that too.
  local deadline=$((SECONDS + 30))
  until grep -q "Kafka Server started" "$dir/broker.log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$dir/stdout.log" >&2; die "broker exited"; }
    (( SECONDS < deadline )) || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null || die "broker exited"
  echo "$pid"
}

cmd_restart() {
  local dir=${1:?usage: restart DIR} port
  [[ -f $dir/server.properties ]] || die "no broker storage in $dir (start one first)"
  [[ -f $dir/kafka.pid ]] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null \
    && die "the broker of $dir is still running (pid $(cat "$dir/kafka.pid"))"
  dir=$(cd "$dir" && pwd)
  port=$(sed -n 's|^advertised.listeners=PLAINTEXT://127.0.0.1:||p' "$dir/server.properties")
  java_cmd
  launch "$dir" "$port"
}

cmd_stop() {
  local dir=${1:?usage: stop DIR} pid
  [[ -f $dir/kafka.pid ]] || return 0
  pid=$(cat "$dir/kafka.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker $pid did not stop in 30 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/kafka.pid"
}

cmd_run() {
  cmd_install
  local cls=${1:?usage: run CLASS ARGS...}; shift
  KAFKA_HEAP=${KAFKA_TOOL_HEAP:-"-Xmx1g"}
  java_cmd
  exec "${exec_java[@]}" -Dlog4j2.configurationFile="$KDIR/tools-log4j2.properties" "$cls" "$@"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  run)
    shift
    [[ -f $KDIR/tools-log4j2.properties ]] || { mkdir -p "$KDIR"; printf 'status = warn\nappender.err.type = Console\nappender.err.name = err\nappender.err.target = SYSTEM_ERR\nappender.err.layout.type = PatternLayout\nappender.err.layout.pattern = [%%d] %%p %%m (%%c)%%n\nrootLogger.level = warn\nrootLogger.appenderRef.err.ref = err\n' >"$KDIR/tools-log4j2.properties"; }
    cmd_run "$@" ;;
  classpath) echo "$LIBS/*" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
