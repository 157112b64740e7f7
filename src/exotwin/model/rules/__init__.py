"""From curated records to a term table: the model library (parameters, drugs, cell
behaviours, rules), the compiler and the immutable rows of a compiled arm, and the response
functions every rule and drug uses."""
