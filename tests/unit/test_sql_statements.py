"""How a SQL model's text is cut into the statements its task runs, one by one."""

from __future__ import annotations

from ecommerce.models import split_statements


def test_pieces_with_only_comments_are_left_out_and_every_statement_is_kept_whole():
    text = """-- the model's header
/* a block comment
   over two lines; with a semicolon */
insert into t (a) values ('-- not a comment; nor the end');
-- a comment before the next statement
delete from t where a = $$;$$;  -- a comment after it
/* trailing */ ;
-- the end
"""
    assert split_statements(text) == (
        "-- the model's header\n/* a block comment\n   over two lines; with a semicolon */\n"
        "insert into t (a) values ('-- not a comment; nor the end');",
        "-- a comment before the next statement\ndelete from t where a = $$;$$;  -- a comment after it",
    )


def test_a_text_of_comments_only_has_no_statement():
    assert split_statements("-- nothing\n/* to run */\n;\n") == ()
