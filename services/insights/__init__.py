"""The insights service: the towns' shared figures for the regional council, from the event streams."""
