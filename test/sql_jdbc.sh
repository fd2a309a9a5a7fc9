#!/usr/bin/env bash
# article_analytics through PostgreSQL JDBC (Debian package
# libpostgresql-jdbc-java), the driver BI tools use: compiles
# test/jdbc/AaJdbcTest.java and runs it against the test cluster, once with
# text and once with binary transfer (see the Java file for the checks).
set -u
cd "$(dirname "$0")/.."
jar=/usr/share/java/postgresql.jar
if ! command -v javac >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
	echo "SKIP: javac/java not found (Debian package openjdk-17-jdk-headless)"
	exit 77
fi
if [ ! -f "$jar" ]; then
	echo "SKIP: $jar not found (Debian package libpostgresql-jdbc-java)"
	exit 77
fi
build=test/build/jdbc
mkdir -p "$build"
javac -Xlint:all -Werror -cp "$jar" -d "$build" test/jdbc/AaJdbcTest.java || exit 1
echo "driver: $(basename "$(readlink -f "$jar")"), $(java -version 2>&1 | head -1)"
java -cp "$build:$jar" AaJdbcTest
