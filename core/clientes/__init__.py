"""Clientes: the business clients and where their bots keep their messages."""
