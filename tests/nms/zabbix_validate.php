<?php
/*
 * zabbix_validate.php TEMPLATE.yaml — runs a template through the import code of
 * Debian's Zabbix 6.0 frontend (zabbix-frontend-php), without a database: the YAML
 * reader, the 6.0 schema validator (strict, as an import does), the converters and
 * the import data adapter; then every item key through Zabbix's item key parser,
 * every update interval through its interval parser, and every trigger (prototype)
 * expression and recovery expression through its expression parser and validator,
 * with each function's host and key resolved against this template's items. Prints
 * "ok    ..." / "FAIL  ..." lines; exits 1 on any failure.
 */
$root = getenv('ZABBIX_UI') ?: '/usr/share/zabbix';
require_once $root.'/include/defines.inc.php';
require_once $root.'/include/func.inc.php';
require_once $root.'/include/gettextwrapper.inc.php';
require_once $root.'/include/classes/core/CAutoloader.php';
require_once $root.'/vendor/autoload.php';

$dirs = ["$root/include/classes"];
$it = new RecursiveIteratorIterator(
	new RecursiveDirectoryIterator("$root/include/classes", FilesystemIterator::SKIP_DOTS),
	RecursiveIteratorIterator::SELF_FIRST
);
foreach ($it as $f) {
	if ($f->isDir()) {
		$dirs[] = $f->getPathname();
	}
}
$autoloader = new CAutoloader;
$autoloader->addNamespace('', $dirs);
$autoloader->register();

$failed = 0;
function check(bool $ok, string $what): void {
	global $failed;
	echo ($ok ? 'ok    ' : 'FAIL  ').$what."\n";
	if (!$ok) {
		$failed++;
	}
}

$file = $argv[1];
try {
	$data = CImportReaderFactory::getReader(CImportReaderFactory::YAML)->read(file_get_contents($file));
	$factory = new CImportValidatorFactory(CImportReaderFactory::YAML);
	$data = (new CXmlValidator($factory, CImportReaderFactory::YAML))->setStrict(true)->validate($data, '/');
	check(true, 'Zabbix '.ZABBIX_VERSION.' import validator accepts the template (strict, format '
		.$data['zabbix_export']['version'].')');
	$schema = $factory->getObject(ZABBIX_EXPORT_VERSION)->getSchema();
	$data = (new CConstantImportConverter($schema))->convert($data);
	$data = (new CDefaultImportConverter($schema))->convert($data);
	$data = (new CImportDataNormalizer($schema))->normalize($data);
	$adapter = new CImportDataAdapter();
	$adapter->load($data);
}
catch (Exception $e) {
	check(false, 'Zabbix import: '.$e->getMessage());
	exit(1);
}

$templates = $adapter->getTemplates();
check(count($templates) == 1, 'one template');
$tname = $templates[0]['host'];

// Items and item prototypes by key, with their value types.
$items = [];
foreach ($adapter->getItems() as $host => $host_items) {
	foreach ($host_items as $key => $item) {
		$items[$key] = $item;
	}
}
$protos = [];
$rules = [];
foreach ($adapter->getDiscoveryRules() as $host => $host_rules) {
	foreach ($host_rules as $key => $rule) {
		$rules[$key] = $rule;
		foreach ($rule['item_prototypes'] as $p) {
			$protos[$p['key_']] = $p;
		}
	}
}
check(count($rules) >= 1, count($rules).' discovery rule(s), '.count($protos).' item prototypes, '
	.count($items).' items');

$key_parser = new CItemKey();
$interval_parser = new CUpdateIntervalParser(['usermacros' => true, 'lldmacros' => true]);
foreach (array_merge($items, $protos, $rules) as $key => $item) {
	check($key_parser->parse($key) == CParser::PARSE_SUCCESS, "item key parses: $key");
	if ($item['type'] != ITEM_TYPE_SNMPTRAP) {
		check($interval_parser->parse($item['delay']) == CParser::PARSE_SUCCESS,
			"update interval {$item['delay']} of $key");
	}
}

// Triggers: those of the items (adapter: by description) and the prototypes.
$triggers = [];
foreach ($adapter->getTriggers() as $t) {
	$triggers[] = [$t, false];
}
foreach ($adapter->getDiscoveryRules() as $host => $host_rules) {
	foreach ($host_rules as $rule) {
		foreach ($rule['trigger_prototypes'] as $t) {
			$triggers[] = [$t, true];
		}
	}
}
check(count($triggers) > 0, count($triggers).' triggers and trigger prototypes');

$numeric_only = ['min', 'max', 'sum', 'avg'];
foreach ($triggers as [$t, $is_proto]) {
	$exprs = ['expression' => $t['expression']];
	if ($t['recovery_mode'] == ZBX_RECOVERY_MODE_RECOVERY_EXPRESSION) {
		$exprs['recovery expression'] = $t['recovery_expression'];
	}
	foreach ($exprs as $what => $expr) {
		$parser = new CExpressionParser(['usermacros' => true, 'lldmacros' => $is_proto]);
		$ok = $parser->parse($expr) == CParser::PARSE_SUCCESS;
		check($ok, "$what of \"{$t['description']}\" parses".($ok ? '' : ': '.$parser->getError()));
		if (!$ok) {
			continue;
		}
		$validator = new CExpressionValidator(['usermacros' => true, 'lldmacros' => $is_proto]);
		$ok = $validator->validate($parser->getResult()->getTokens());
		check($ok, "$what of \"{$t['description']}\" is valid".($ok ? '' : ': '.$validator->getError()));
		$funcs = $parser->getResult()->getTokensOfTypes([CExpressionParserResult::TOKEN_TYPE_HIST_FUNCTION]);
		foreach ($funcs as $f) {
			$q = $f['data']['parameters'][0]['data'];
			$pool = $is_proto ? $protos + $items : $items;
			$known = $q['host'] === $tname && array_key_exists($q['item'], $pool);
			check($known, "\"{$t['description']}\": {$f['data']['function']}() reads /{$q['host']}/{$q['item']} of this template");
			if ($known && in_array($f['data']['function'], $numeric_only)) {
				$vt = $pool[$q['item']]['value_type'];
				check(in_array($vt, [ITEM_VALUE_TYPE_UINT64, ITEM_VALUE_TYPE_FLOAT]),
					"\"{$t['description']}\": {$f['data']['function']}() on a numeric item");
			}
		}
	}
}
exit($failed ? 1 : 0);
