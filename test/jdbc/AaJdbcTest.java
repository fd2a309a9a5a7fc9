/*
 * article_analytics through PostgreSQL JDBC, the driver BI tools use.
 *
 * Connects twice, as a BI tool might be configured:
 *   text   prepareThreshold=0: every result in text format;
 *   binary prepareThreshold=-1 (server-prepared from the first execution),
 *          binaryTransfer=true, and the minhash type's OID added to
 *          binaryTransferEnable, so that minhash values arrive in the
 *          type's binary format (minhash_send).
 * In both it calls aa_refresh, reads every BI view and checks the JDBC
 * types a BI tool sees, runs the core functions with bound parameters,
 * and reads a minhash column.  The two connections must return the same
 * answers, and the binary minhash must be the bytes of minhash_send.
 *
 * Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD and
 * PGDATABASE.  Prints one line per check, then the totals; exits 1 on a failure.
 */
import java.sql.*;
import java.util.*;

public class AaJdbcTest {
    static int passed = 0, failed = 0;

    static void check(boolean ok, String what) {
        if (ok) {
            passed++;
            System.out.println("ok   " + what);
        } else {
            failed++;
            System.out.println("FAIL " + what);
        }
    }

    static Connection connect(Properties extra) throws SQLException {
        String host = System.getenv().getOrDefault("PGHOST", "localhost");
        if (host.startsWith("/"))
            host = "localhost";
        String url = "jdbc:postgresql://" + host + ":"
            + System.getenv().getOrDefault("PGPORT", "5432") + "/"
            + System.getenv().getOrDefault("PGDATABASE", "postgres");
        Properties p = new Properties();
        p.setProperty("user", System.getenv().getOrDefault("PGUSER", "postgres"));
        p.setProperty("password", System.getenv().getOrDefault("PGPASSWORD", ""));
        p.putAll(extra);
        return DriverManager.getConnection(url, p);
    }

    /* Every row of a query as strings, for comparing the two connections. */
    static List<String> rows(Connection c, String sql, Object... params) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++)
                ps.setObject(i + 1, params[i]);
            /* run it twice: with prepareThreshold=-1 the second is surely server-prepared */
            ps.executeQuery().close();
            try (ResultSet rs = ps.executeQuery()) {
                int n = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 1; i <= n; i++) {
                        Object o = rs.getObject(i);
                        sb.append(i > 1 ? "|" : "").append(o == null ? "NULL" : o.toString());
                    }
                    out.add(sb.toString());
                }
            }
        }
        return out;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b)
            sb.append(String.format("%02x", x));
        return sb.toString();
    }

    /* The checks of one connection; returns the answers to compare. */
    static List<String> run(Connection c, String mode, boolean binary) throws SQLException {
        List<String> answers = new ArrayList<>();
        String p = "[" + mode + "] ";

        /* aa_refresh through the driver, autocommit on (it commits itself) */
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            st.execute("CALL aa_refresh('jdbc_articles', date_column => 'published', batch_size => 2)");
        }
        List<String> status = rows(c, "SELECT status, articles_done, articles_skipped FROM aa_refresh_status WHERE source = 'jdbc_articles'");
        check(status.equals(List.of("done|3|1")), p + "CALL aa_refresh, then aa_refresh_status: " + status);

        /* views: the column types a BI tool sees, and their rows */
        Map<String, String> views = new LinkedHashMap<>();
        views.put("aa_entity_daily", "day, entity, type");
        views.put("aa_entity_totals", "entity, type");
        views.put("aa_entity_cooccurrence", "entity_a, type_a, entity_b, type_b");
        views.put("aa_duplicates", "article_a, article_b");
        views.put("aa_duplicate_clusters", "cluster_id");
        views.put("aa_top_terms_daily", "day, rank, term");
        views.put("aa_refresh_skipped", "article_id");
        Set<Integer> plain = Set.of(Types.VARCHAR, Types.BIGINT, Types.INTEGER, Types.DATE,
                                    Types.DOUBLE, Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE);
        for (Map.Entry<String, String> v : views.entrySet()) {
            String sql = "SELECT * FROM " + v.getKey() + " WHERE source = ? ORDER BY " + v.getValue();
            List<String> odd = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, "jdbc_articles");
                try (ResultSet rs = ps.executeQuery()) {
                    ResultSetMetaData md = rs.getMetaData();
                    for (int i = 1; i <= md.getColumnCount(); i++)
                        if (!plain.contains(md.getColumnType(i)))
                            odd.add(md.getColumnName(i) + ":" + md.getColumnTypeName(i));
                }
            }
            check(odd.isEmpty(), p + v.getKey() + ": every column has a plain JDBC type " + odd);
            List<String> r = rows(c, sql, "jdbc_articles");
            check(!r.isEmpty(), p + v.getKey() + ": " + r.size() + " rows");
            answers.addAll(r);
        }
        List<String> clusters = rows(c, "SELECT size, earliest_article FROM aa_duplicate_clusters WHERE source = ?", "jdbc_articles");
        check(clusters.equals(List.of("2|1")), p + "the copy of article 1 is its cluster: " + clusters);
        try (PreparedStatement ps = c.prepareStatement(
                 "SELECT day FROM aa_entity_daily WHERE source = ? ORDER BY day LIMIT 1")) {
            ps.setString(1, "jdbc_articles");
            ps.executeQuery().close();
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                check(rs.getDate(1).toString().equals("2024-05-01"), p + "a view's date reads as java.sql.Date " + rs.getDate(1));
            }
        }

        /* core functions with bound parameters */
        List<String> stem = rows(c, "SELECT aa_stem(?, ?)", "Running", "english");
        check(stem.equals(List.of("run")), p + "aa_stem: " + stem);
        List<String> ents = rows(c, "SELECT entity, type, start_pos, length, canonical FROM aa_entities(?)",
                                 "Barack Obama met NATO officials in Brussels on Monday.");
        check(ents.size() >= 2 && ents.stream().anyMatch(e -> e.startsWith("NATO|ORG|")),
              p + "aa_entities: " + ents);
        answers.addAll(ents);
        List<String> terms = rows(c, "SELECT term, count FROM aa_term_counts(?, 'english') ORDER BY count DESC, term",
                                  "Running runners run; the runner ran.");
        check(terms.equals(List.of("run|2", "runner|2", "ran|1")), p + "aa_term_counts: " + terms);
        List<String> toks = rows(c, "SELECT count(*) FROM aa_tokens(?)", "The Taliban's forces left.");
        check(toks.equals(List.of("6")), p + "aa_tokens: " + toks);
        List<String> sim = rows(c, "SELECT aa_similarity(a.sig, b.sig), aa_containment(a.sig, b.sig) "
                                 + "FROM jdbc_articles a, jdbc_articles b WHERE a.id = ? AND b.id = ?", 1, 2);
        check(sim.equals(List.of("1.0|1.0")), p + "aa_similarity of a copy: " + sim);
        answers.addAll(sim);
        List<String> idx = rows(c, "SELECT b.id FROM jdbc_articles a JOIN jdbc_articles b "
                                 + "ON a.sig % b.sig AND a.id < b.id ORDER BY 1");
        check(idx.equals(List.of("2")), p + "the % operator: " + idx);

        /* a minhash column: the text form, and in binary mode the send format */
        String textForm = null;
        byte[] sent = null;
        try (PreparedStatement ps = c.prepareStatement(
                 "SELECT sig, sig::text, minhash_send(sig) FROM jdbc_articles WHERE id = ?")) {
            ps.setInt(1, 1);
            ps.executeQuery().close();
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                textForm = rs.getString(2);
                sent = rs.getBytes(3);
                if (binary) {
                    byte[] raw = rs.getBytes(1);
                    check(Arrays.equals(raw, sent),
                          p + "minhash read in binary: " + raw.length + " bytes, equal to minhash_send");
                    answers.add(hex(raw));
                } else {
                    String s = rs.getString(1);
                    check(s.equals(textForm) && s.startsWith("v1;k=128;"),
                          p + "minhash read as text: " + s.substring(0, 30) + "...");
                    answers.add(hex(sent));
                }
            }
        }
        /* and sent back as a parameter, in its text form */
        org.postgresql.util.PGobject mh = new org.postgresql.util.PGobject();
        mh.setType("minhash");
        mh.setValue(textForm);
        List<String> back = rows(c, "SELECT id FROM jdbc_articles WHERE aa_similarity(sig, ?) = 1 ORDER BY id", mh);
        check(back.equals(List.of("1", "2")), p + "a minhash parameter finds the article and its copy: " + back);
        return answers;
    }

    public static void main(String[] args) throws Exception {
        Properties setup = new Properties();
        int minhashOid;
        try (Connection c = connect(setup); Statement st = c.createStatement()) {
            st.execute("CREATE EXTENSION IF NOT EXISTS article_analytics");
            st.execute("DROP TABLE IF EXISTS jdbc_articles");
            st.execute("CREATE TABLE jdbc_articles (id int PRIMARY KEY, published timestamptz, body text, "
                       + "sig minhash GENERATED ALWAYS AS (aa_minhash(body)) STORED)");
            String story = "KABUL (Reuters) - Afghan forces said on Thursday they had retaken the district "
                + "of Lashkar Gah from Taliban fighters after a week of heavy fighting in Helmand province, "
                + "and NATO officials in Brussels welcomed the news.";
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_articles (id, published, body) VALUES (?, ?::timestamptz, ?)")) {
                Object[][] data = {
                    {1, "2024-05-01 10:00+00", story},
                    {2, "2024-05-02 10:00+00", story},
                    {3, "2024-05-02 11:00+00", "President Barack Obama met German Chancellor Angela Merkel "
                        + "in Berlin on Monday to discuss trade and the war in Afghanistan."},
                    {4, "2024-05-03 09:00+00", null}};
                for (Object[] row : data) {
                    ps.setInt(1, (Integer) row[0]);
                    ps.setString(2, (String) row[1]);
                    ps.setString(3, (String) row[2]);
                    ps.executeUpdate();
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT 'minhash'::regtype::oid::int")) {
                rs.next();
                minhashOid = rs.getInt(1);
            }
        }

        Properties text = new Properties();
        text.setProperty("prepareThreshold", "0");
        Properties binary = new Properties();
        binary.setProperty("prepareThreshold", "-1");
        binary.setProperty("binaryTransfer", "true");
        binary.setProperty("binaryTransferEnable", Integer.toString(minhashOid));

        List<String> a, b;
        try (Connection c = connect(text)) {
            a = run(c, "text", false);
        }
        try (Connection c = connect(binary)) {
            b = run(c, "binary", true);
        }
        check(a.equals(b), "text and binary transfer give the same answers (" + a.size() + " values)");
        if (!a.equals(b))
            for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
                String x = i < a.size() ? a.get(i) : "-", y = i < b.size() ? b.get(i) : "-";
                if (!x.equals(y))
                    System.out.println("   text: " + x + "\n   binary: " + y);
            }
        try (Connection c = connect(setup); Statement st = c.createStatement()) {
            st.execute("SELECT aa_refresh_forget('jdbc_articles')");
            st.execute("DROP TABLE jdbc_articles");
        }
        System.out.println("AaJdbcTest finished: " + passed + " checks ok, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
