"""The back office's search index of message bodies, kept by the database itself.

PostgreSQL: the table order_messages_search, one row per message with its conversation's
vendor key, so a vendor's search is answered inside the index; its tsvector uses the
text-search configurations of ORDER_MESSAGES_SEARCH_CONFIG (read when this migration
runs), through the functions om_search_vector, om_search_query and om_search_headline,
so that indexing and searching always agree. Trigram and expression indexes serve the
search by order number, customer name and e-mail address.

SQLite: the FTS5 table order_messages_search (rowid = the message's id).

Triggers on the message table keep both up to date, whatever writes a message. On SQLite
Django rebuilds a table to change it, which drops its triggers: order_messages.search_index
takes them away before every migrate and puts them back after it (SQLITE_TRIGGERS below),
with the index brought up to date. Migrating back to 0010 and forward again rebuilds the
index, for example with another configuration.
"""

from django.db import migrations

# PostgreSQL's text-search configuration per language code.
PG_CONFIGS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "da": "danish",
    "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "nb": "norwegian", "nn": "norwegian",
    "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian",
    "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip

# Fills the index from the messages already written (also used by the benchmark's loader,
# on an empty table without its keys).
POSTGRESQL_FILL = """
INSERT INTO order_messages_search (message_id, conversation_id, vendor_key, vector)
SELECT m.id, m.conversation_id, c.vendor_key, om_search_vector(m.body)
FROM order_messages_message m JOIN order_messages_conversation c ON c.id = m.conversation_id
"""
# The triggers may have indexed a message already.
POSTGRESQL_BACKFILL = POSTGRESQL_FILL + "ON CONFLICT (message_id) DO NOTHING\n"

POSTGRESQL_INDEXES = [
    # A vendor's words: vendor_key and the lexemes in one GIN index (btree_gin), so the
    # scope is part of the index scan.
    "CREATE INDEX om_search_words ON order_messages_search USING gin (vendor_key, vector)",
    # A vendor's messages newest first, for words found in very many of them.
    "CREATE INDEX om_search_vendor_recent ON order_messages_search (vendor_key, message_id)",
]

POSTGRESQL_CONVERSATION_INDEXES = [
    # The order number as Django's iexact compares it.
    "CREATE INDEX om_conv_number_upper ON order_messages_conversation (UPPER(order_number))",
    # Customer name and e-mail anywhere in them, as Django's icontains compares them.
    "CREATE INDEX om_conv_customer_trgm ON order_messages_conversation "
    "USING gin (UPPER(customer_name) gin_trgm_ops)",
    "CREATE INDEX om_conv_email_trgm ON order_messages_conversation "
    "USING gin (UPPER(customer_email) gin_trgm_ops)",
]

POSTGRESQL_TRIGGERS = """
CREATE FUNCTION om_search_index_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM order_messages_search WHERE message_id = OLD.id;
        RETURN OLD;
    END IF;
    INSERT INTO order_messages_search (message_id, conversation_id, vendor_key, vector)
    SELECT NEW.id, NEW.conversation_id, c.vendor_key, om_search_vector(NEW.body)
    FROM order_messages_conversation c WHERE c.id = NEW.conversation_id
    ON CONFLICT (message_id) DO UPDATE SET
        conversation_id = EXCLUDED.conversation_id,
        vendor_key = EXCLUDED.vendor_key,
        vector = EXCLUDED.vector;
    RETURN NEW;
END $$;

CREATE FUNCTION om_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE order_messages_search;
    RETURN NULL;
END $$;

CREATE TRIGGER om_search_insert AFTER INSERT ON order_messages_message
    FOR EACH ROW EXECUTE FUNCTION om_search_index_message();
CREATE TRIGGER om_search_update AFTER UPDATE OF body, conversation_id ON order_messages_message
    FOR EACH ROW
    WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.conversation_id <> NEW.conversation_id)
    EXECUTE FUNCTION om_search_index_message();
CREATE TRIGGER om_search_delete AFTER DELETE ON order_messages_message
    FOR EACH ROW EXECUTE FUNCTION om_search_index_message();
CREATE TRIGGER om_search_truncate AFTER TRUNCATE ON order_messages_message
    FOR EACH STATEMENT EXECUTE FUNCTION om_search_truncate();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS om_search_truncate ON order_messages_message;
DROP TRIGGER IF EXISTS om_search_delete ON order_messages_message;
DROP TRIGGER IF EXISTS om_search_update ON order_messages_message;
DROP TRIGGER IF EXISTS om_search_insert ON order_messages_message;
DROP FUNCTION IF EXISTS om_search_truncate();
DROP FUNCTION IF EXISTS om_search_index_message();
DROP TABLE IF EXISTS order_messages_search;
DROP FUNCTION IF EXISTS om_search_headline(text, tsquery, text);
DROP FUNCTION IF EXISTS om_search_query(text[]);
DROP FUNCTION IF EXISTS om_search_vector(text);
DROP INDEX IF EXISTS om_conv_number_upper;
DROP INDEX IF EXISTS om_conv_customer_trgm;
DROP INDEX IF EXISTS om_conv_email_trgm;
"""

# The body as indexed: without the two characters that mark matches in snippets.
SQLITE_BODY = "replace(replace({}.body, char(2), ''), char(3), '')"
SQLITE_INSERT = f"""
    INSERT OR REPLACE INTO order_messages_search (rowid, body, conversation_id, vendor_key)
    SELECT new.id, {SQLITE_BODY.format("new")}, new.conversation_id, c.vendor_key
    FROM order_messages_conversation c WHERE c.id = new.conversation_id;
"""
# Fills the index from the messages already written (order_messages.search_index adds a
# condition to index only those missing).
SQLITE_FILL = (
    "INSERT INTO order_messages_search (rowid, body, conversation_id, vendor_key) "
    f"SELECT m.id, {SQLITE_BODY.format('m')}, m.conversation_id, c.vendor_key "
    "FROM order_messages_message m "
    "JOIN order_messages_conversation c ON c.id = m.conversation_id"
)
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER om_search_insert AFTER INSERT ON order_messages_message BEGIN
    {SQLITE_INSERT}
END""",
    f"""CREATE TRIGGER om_search_update AFTER UPDATE OF body, conversation_id
    ON order_messages_message BEGIN
    DELETE FROM order_messages_search WHERE rowid = old.id;
    {SQLITE_INSERT}
END""",
    """CREATE TRIGGER om_search_delete AFTER DELETE ON order_messages_message BEGIN
    DELETE FROM order_messages_search WHERE rowid = old.id;
END""",
]


def search_configs(connection) -> list[str]:
    """ORDER_MESSAGES_SEARCH_CONFIG, or "simple" and the configuration of LANGUAGE_CODE's
    language where PostgreSQL has one."""
    from django.conf import settings

    from order_messages.conf import app_settings

    configured = app_settings.SEARCH_CONFIG
    if configured:
        names = [configured] if isinstance(configured, str) else list(configured)
    else:
        language = settings.LANGUAGE_CODE.lower().replace("_", "-").split("-")[0]
        names = ["simple", PG_CONFIGS.get(language, "simple")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config WHERE cfgname = ANY(%s)", [names])
        known = {row[0] for row in cursor.fetchall()}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"ORDER_MESSAGES_SEARCH_CONFIG: PostgreSQL has no {unknown}.")
    return list(dict.fromkeys(names))


def postgresql_functions(configs: list[str]) -> str:
    vector = " || ".join(f"to_tsvector('{name}'::regconfig, body)" for name in configs)
    term = " || ".join(f"to_tsquery('{name}'::regconfig, term)" for name in configs)
    # The snippet is cut with the last configuration (the language's, by default).
    headline = configs[-1]
    return f"""
CREATE FUNCTION om_search_vector(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT {vector} $$;

-- All the words (AND), each in any of the configurations (OR), the last one as a prefix.
-- The words come from order_messages.queries.search: letters and digits only.
CREATE FUNCTION om_search_query(words text[]) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    found tsquery;
    term text;
    last int := coalesce(array_length(words, 1), 0);
BEGIN
    FOR i IN 1 .. last LOOP
        term := '''' || replace(words[i], '''', '''''') || ''''
            || CASE WHEN i = last THEN ':*' ELSE '' END;
        found := CASE WHEN found IS NULL THEN ({term})
                      ELSE found && ({term}) END;
    END LOOP;
    RETURN found;
END $$;

CREATE FUNCTION om_search_headline(body text, query tsquery, options text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ts_headline('{headline}'::regconfig, body, query, options) $$;
"""


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        configs = search_configs(connection)
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        schema_editor.execute(postgresql_functions(configs))
        schema_editor.execute(
            """CREATE TABLE order_messages_search (
                message_id bigint PRIMARY KEY,
                conversation_id bigint NOT NULL,
                vendor_key varchar(128) NOT NULL,
                vector tsvector NOT NULL
            )"""
        )
        # The triggers first: creating them locks the message table against writes until
        # this migration commits, so every message is either in the backfill's snapshot or
        # written after the commit, through the triggers.
        schema_editor.execute(POSTGRESQL_TRIGGERS)
        schema_editor.execute(POSTGRESQL_BACKFILL)
        for statement in POSTGRESQL_INDEXES + POSTGRESQL_CONVERSATION_INDEXES:
            schema_editor.execute(statement)
    elif connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE order_messages_search USING fts5("
            "body, conversation_id UNINDEXED, vendor_key UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        schema_editor.execute(SQLITE_FILL)
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif connection.vendor == "sqlite":
        for name in ("om_search_insert", "om_search_update", "om_search_delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute("DROP TABLE IF EXISTS order_messages_search")


class Migration(migrations.Migration):
    dependencies = [
        ("order_messages", "0010_longer_order_numbers_and_vendor_keys"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
