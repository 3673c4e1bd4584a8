"""The official Python SDK's minimal streaming command (splunk-sdk on PyPI): sets one field.
The comparison point for the command's throughput."""
import sys

from splunklib.searchcommands import Configuration, StreamingCommand, dispatch


@Configuration()
class Tag(StreamingCommand):
    def stream(self, records):
        for record in records:
            record["tagged"] = "1"
            yield record


dispatch(Tag, sys.argv, sys.stdin, sys.stdout, __name__)
