#!/bin/sh
# checksrc.sh: house rules that a compiler flag cannot enforce (curl's
# checksrc idea).  Bans unsafe or ambiguous functions, assignments inside
# if conditions, and lines over 80 columns (tabs count as 8).
set -u
cd "$(dirname "$0")/.." || exit 2
fail=0
files=$(ls src/*.c src/*.h cli/*.c 2>/dev/null)

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|system|popen|alloca)[[:space:]]*\('
if grep -nE "$banned" $files; then
	echo "checksrc: banned function (use snprintf, parse_u64, strtok_r...)"
	fail=1
fi
if grep -nE '\bif[[:space:]]*\(.*[^=!<>]=[^=].*\)[[:space:]]*(\{|$)' $files |
	grep -vE '==|!=|<=|>=' ; then
	echo "checksrc: assignment inside an if condition"
	fail=1
fi
long=$(awk '{ line = $0; gsub(/\t/, "        ", line);
	if (length(line) > 80) printf "%s:%d: %d columns\n", FILENAME, FNR, length(line) }' $files)
if [ -n "$long" ]; then
	echo "$long"
	echo "checksrc: lines over 80 columns"
	fail=1
fi
[ $fail -eq 0 ] && echo "checksrc: ok"
exit $fail
