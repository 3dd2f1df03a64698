"""The resident's side of notifications: their inbox, news, the templates of their messages, and the messages application events make."""
