<?php
// phpCAS (Debian php-cas) validating one service ticket against the broker through CAS 3.0.
// Usage: php phpcas_validate.php <broker base URL> <service URL> <ticket>; prints JSON.
require_once 'CAS.php';
[$self, $broker, $service, $ticket] = $argv;
$u = parse_url($broker);
ob_start();
ini_set('session.save_path', sys_get_temp_dir());
$_SERVER['REQUEST_URI'] = '/app/?ticket=' . urlencode($ticket);
$_SERVER['SERVER_NAME'] = 'localhost';
$_SERVER['HTTP_HOST'] = 'localhost';
$_SERVER['SERVER_PORT'] = '80';
$_GET['ticket'] = $ticket;
CAS_GracefullTerminationException::throwInsteadOfExiting();
try {
    phpCAS::client(CAS_VERSION_3_0, $u['host'], $u['port'], '', 'http://localhost', false);
    phpCAS::setNoCasServerValidation();
    // Keep the ticket in the URL: phpCAS would otherwise redirect to clean it, ending this script.
    phpCAS::setNoClearTicketsFromUrl();
    phpCAS::setServerServiceValidateURL($broker . '/p3/serviceValidate');
    phpCAS::setFixedServiceURL($service);
    $ok = phpCAS::isAuthenticated();
    $result = $ok ? ['ok' => true, 'user' => phpCAS::getUser(), 'attributes' => phpCAS::getAttributes()] : ['ok' => false];
} catch (Throwable $e) {
    $result = ['ok' => false, 'error' => get_class($e)];
}
ob_end_clean();
echo json_encode($result);
